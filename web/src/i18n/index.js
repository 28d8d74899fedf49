import { createI18n } from 'vue-i18n'
import en from './en.js'
import ko from './ko.js'

export const LOCALES = ['en', 'ko']
export const DEFAULT_LOCALE = 'en'
export const LOCALE_STORAGE_KEY = 'sl_locale'

export function isLocale(value) {
  return LOCALES.includes(value)
}

/** The language to start in: the URL's prefix, then the saved choice, then the browser's, then English. */
export function pickLocale({ fromUrl, saved, browser = [] } = {}) {
  if (isLocale(fromUrl)) return fromUrl
  if (isLocale(saved)) return saved
  for (const tag of browser) {
    const primary = String(tag).toLowerCase().split('-')[0]
    if (isLocale(primary)) return primary
  }
  return DEFAULT_LOCALE
}

export function savedLocale() {
  try {
    return globalThis.localStorage?.getItem(LOCALE_STORAGE_KEY) ?? null
  } catch {
    return null
  }
}

export function createAppI18n(locale = DEFAULT_LOCALE) {
  return createI18n({
    legacy: false,
    locale,
    fallbackLocale: DEFAULT_LOCALE,
    messages: { en, ko },
    missingWarn: false,
    fallbackWarn: false,
  })
}

/** Switches the UI language; a choice (the switch, a /ko or /en link) is remembered for the next visit. */
export function applyLocale(i18n, locale, { persist = true } = {}) {
  if (!isLocale(locale)) return
  i18n.global.locale.value = locale
  if (persist) {
    try {
      globalThis.localStorage?.setItem(LOCALE_STORAGE_KEY, locale)
    } catch {
      // private mode: the choice lasts for this visit
    }
  }
  if (globalThis.document) globalThis.document.documentElement.lang = locale
}
