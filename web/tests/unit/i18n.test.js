import { describe, expect, it } from 'vitest'
import en from '@/i18n/en.js'
import ko from '@/i18n/ko.js'
import { LOCALE_STORAGE_KEY, applyLocale, createAppI18n, pickLocale, savedLocale } from '@/i18n/index.js'

function keys(messages, prefix = '') {
  return Object.entries(messages).flatMap(([key, value]) =>
    typeof value === 'object' ? keys(value, `${prefix}${key}.`) : [`${prefix}${key}`],
  )
}

function placeholders(message) {
  return [...message.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort()
}

describe('messages', () => {
  it('has every English key in Korean and nothing else', () => {
    expect(keys(ko).sort()).toEqual(keys(en).sort())
  })

  it('uses the same placeholders in both languages', () => {
    const lookup = (messages, key) => key.split('.').reduce((node, part) => node[part], messages)
    for (const key of keys(en)) {
      const english = lookup(en, key).split('|').flatMap(placeholders)
      const korean = lookup(ko, key).split('|').flatMap(placeholders)
      expect(new Set(korean), key).toEqual(new Set(english))
    }
  })

  it('compiles and formats every message (no eval needed)', () => {
    const i18n = createAppI18n('ko')
    expect(i18n.global.t('nav.balance', { n: 5 })).toBe('토큰 잔액: 5')
    i18n.global.locale.value = 'en'
    expect(i18n.global.t('common.tokens', { n: 1 }, 1)).toBe('1 token')
    expect(i18n.global.t('common.tokens', { n: 3 }, 3)).toBe('3 tokens')
  })
})

describe('pickLocale', () => {
  it('prefers the URL, then the saved choice, then the browser, then English', () => {
    expect(pickLocale({ fromUrl: 'ko', saved: 'en', browser: ['en-US'] })).toBe('ko')
    expect(pickLocale({ fromUrl: 'verify', saved: 'ko', browser: ['en-US'] })).toBe('ko')
    expect(pickLocale({ browser: ['fr-FR', 'ko-KR'] })).toBe('ko')
    expect(pickLocale({ browser: ['fr-FR'] })).toBe('en')
    expect(pickLocale()).toBe('en')
  })
})

describe('applyLocale', () => {
  it('switches the language, the document lang and remembers the choice', () => {
    const i18n = createAppI18n('en')
    applyLocale(i18n, 'ko')
    expect(i18n.global.locale.value).toBe('ko')
    expect(document.documentElement.lang).toBe('ko')
    expect(localStorage.getItem(LOCALE_STORAGE_KEY)).toBe('ko')
    expect(savedLocale()).toBe('ko')
  })

  it('can switch without remembering, and ignores unknown languages', () => {
    const i18n = createAppI18n('en')
    applyLocale(i18n, 'ko', { persist: false })
    expect(localStorage.getItem(LOCALE_STORAGE_KEY)).toBeNull()
    applyLocale(i18n, 'fr')
    expect(i18n.global.locale.value).toBe('ko')
  })
})
