// Numbers, money and dates in the reader's language.

export function formatNumber(value, locale, options = {}) {
  return new Intl.NumberFormat(locale, options).format(Number(value))
}

export function formatMoney(amount, currency, locale) {
  return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(Number(amount))
}

export function formatDate(iso, locale, { time = false } = {}) {
  if (!iso) return ''
  const options = time ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'long' }
  return new Intl.DateTimeFormat(locale, options).format(new Date(iso))
}

/** A duration such as "3 minutes" or "45 seconds" (training and generation ETAs). */
export function formatDuration(seconds, locale) {
  const total = Math.max(0, Math.round(Number(seconds)))
  const [value, unit] =
    total >= 3600 ? [Math.round(total / 360) / 10, 'hour'] : total >= 60 ? [Math.round(total / 60), 'minute'] : [total, 'second']
  return new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(value)
}
