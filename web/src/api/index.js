import { createApiClient } from './client.js'

let currentLocale = () => 'en'

/** The app's API client; its Accept-Language follows the UI language (set once by main.js). */
export const api = createApiClient({ locale: () => currentLocale() })

export function useLocaleForApi(getLocale) {
  currentLocale = getLocale
}
