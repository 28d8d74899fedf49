// Numbers, money and dates in the reader's language.

export function formatNumber(value, locale) {
  return new Intl.NumberFormat(locale).format(Number(value))
}

export function formatMoney(amount, currency, locale) {
  return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(Number(amount))
}

export function formatDate(iso, locale, { time = false } = {}) {
  if (!iso) return ''
  const options = time ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'long' }
  return new Intl.DateTimeFormat(locale, options).format(new Date(iso))
}
