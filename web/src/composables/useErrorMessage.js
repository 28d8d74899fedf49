import { useI18n } from 'vue-i18n'
import { INVALID_RESPONSE, NETWORK_ERROR } from '@/api/client.js'

/** What to tell a person about an error: the API's message is already in their language. */
export function errorMessage(error, t) {
  if (!error) return ''
  if (error.code === NETWORK_ERROR || error.code === INVALID_RESPONSE) return t(`errors.${error.code}`)
  return error.message || t('common.errorTitle')
}

export function useErrorMessage() {
  const { t } = useI18n()
  return (error) => errorMessage(error, t)
}

/** The form fields a VALIDATION_ERROR names (`details.errors[].loc`, e.g. ["body", "username"]). */
export function invalidFields(error) {
  const problems = error?.code === 'VALIDATION_ERROR' ? (error.details?.errors ?? []) : []
  return new Set(problems.map((problem) => problem.loc?.at(-1)).filter((field) => typeof field === 'string'))
}
