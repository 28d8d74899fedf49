import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { createMemoryHistory } from 'vue-router'
import { createAppRouter, guard } from '@/router/index.js'
import { useAuthStore } from '@/stores/auth.js'
import { fail, fakeApi, me, ok } from './helpers.js'

function fakeAuth({ user = null } = {}) {
  return {
    user,
    get isSignedIn() {
      return user !== null
    },
    get isArtist() {
      return user?.role === 'artist'
    },
    ensureLoaded: async () => user,
  }
}

const to = (meta, extra = {}) => ({ meta, params: { locale: '' }, query: {}, fullPath: '/me', ...extra })

describe('guard', () => {
  it('lets anyone see public pages', async () => {
    expect(await guard(to({}), fakeAuth())).toBe(true)
  })

  it('sends signed-out visitors of signed-in pages to sign in, keeping the language and the way back', async () => {
    expect(await guard(to({ auth: true }, { params: { locale: 'ko' }, fullPath: '/ko/me' }), fakeAuth())).toEqual({
      name: 'sign-in',
      params: { locale: 'ko' },
      query: { next: '/ko/me' },
    })
    expect(await guard(to({ auth: true }), fakeAuth({ user: me() }))).toBe(true)
  })

  it('keeps artist pages for artists', async () => {
    const redirect = await guard(to({ auth: true, artist: true }), fakeAuth({ user: me() }))
    expect(redirect).toMatchObject({ name: 'edit-profile', hash: '#become-artist' })
    expect(await guard(to({ auth: true, artist: true }), fakeAuth({ user: me({ role: 'artist' }) }))).toBe(true)
  })

  it('sends signed-in people away from the sign-in page, to where they were going', async () => {
    const signedIn = fakeAuth({ user: me() })
    expect(await guard(to({ guest: true }, { query: { next: '/tokens' } }), signedIn)).toBe('/tokens')
    expect(await guard(to({ guest: true }, { query: { next: '//evil.example' } }), signedIn)).toMatchObject({ name: 'me' })
    expect(await guard(to({ guest: true }), fakeAuth())).toBe(true)
  })
})

describe('routes', () => {
  beforeEach(() => setActivePinia(createPinia()))

  it('serve every page with or without a language prefix', async () => {
    fakeApi({ 'GET /api/v1/auth/me': fail(401, 'UNAUTHORIZED') })
    const router = createAppRouter({ history: createMemoryHistory() })
    const cases = {
      '/': ['home', ''],
      '/ko': ['home', 'ko'],
      '/en/verify': ['verify', 'en'],
      '/tokens': ['tokens', ''],
      '/users/12': ['user', ''],
      '/ko/users/abc': ['not-found', 'ko'],
      '/fr/verify': ['not-found', ''],
      '/payments/fail': ['payment-fail', ''],
    }
    for (const [path, [name, locale]] of Object.entries(cases)) {
      const route = router.resolve(path)
      expect([route.name, route.params.locale], path).toEqual([name, locale])
    }
  })

  it('tells the app about a language prefix and guards navigation', async () => {
    fakeApi({ 'GET /api/v1/auth/me': ok(me()) })
    const seen = []
    const router = createAppRouter({ history: createMemoryHistory(), onLocale: (locale) => seen.push(locale) })
    await router.push('/ko/sign-in')
    expect(new Set(seen)).toEqual(new Set(['ko']))
    expect(router.currentRoute.value.name).toBe('me') // signed in already
    expect(router.currentRoute.value.params.locale).toBe('ko')
    expect(useAuthStore().isSignedIn).toBe(true)
  })
})
