// A fake API (fetch answering with the envelope) and a mount that gives components the app's plugins.
import { mount, flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { vi } from 'vitest'
import { createMemoryHistory } from 'vue-router'
import { useLocaleForApi } from '@/api/index.js'
import { createAppI18n } from '@/i18n/index.js'
import { createAppRouter } from '@/router/index.js'

export function ok(data, status = 200) {
  return { status, body: { success: true, data } }
}

export function fail(status, code, message = code, details = null) {
  return { status, body: { success: false, error: { code, message, details, request_id: 'req-1' } } }
}

export const me = (overrides = {}) => ({
  id: 7,
  email: 'mina@example.com',
  username: 'mina',
  bio: null,
  profile_image_url: null,
  role: 'user',
  token_balance: 100,
  preferred_language: 'en',
  created_at: '2026-11-01T10:00:00Z',
  artist: null,
  ...overrides,
})

export const publicProfile = (overrides = {}) => ({
  id: 7,
  username: 'mina',
  bio: 'Watercolours.',
  profile_image_url: null,
  role: 'user',
  created_at: '2026-11-01T10:00:00Z',
  artist: null,
  stats: { public_generations: 3, followers: 5, following: 2, style: null },
  ...overrides,
})

/**
 * Installs a fetch that answers `routes`: { 'GET /api/v1/auth/me': answer | (request) => answer }.
 * Unknown routes are 404 NOT_FOUND. Returns the mock; `.requests` lists what was sent.
 */
export function fakeApi(routes = {}) {
  const requests = []
  const fetch = vi.fn(async (url, init = {}) => {
    const { pathname, searchParams } = new URL(url, 'http://app.test')
    const method = init.method ?? 'GET'
    const request = { method, path: pathname, query: Object.fromEntries(searchParams), headers: init.headers ?? {}, body: init.body }
    if (typeof init.body === 'string') request.json = JSON.parse(init.body)
    requests.push(request)
    let answer = routes[`${method} ${pathname}`]
    if (typeof answer === 'function') answer = await answer(request)
    answer ??= fail(404, 'NOT_FOUND')
    if (answer instanceof Error) throw answer
    return {
      ok: answer.status >= 200 && answer.status < 300,
      status: answer.status,
      headers: new Headers(answer.headers ?? {}),
      json: async () => {
        if (answer.body === undefined) throw new SyntaxError('not JSON')
        return answer.body
      },
    }
  })
  fetch.requests = requests
  vi.stubGlobal('fetch', fetch)
  return fetch
}

/** Mounts `component` inside the app's router at `url` (or alone), with fresh Pinia and i18n. */
export async function mountApp(component, { url = '/', locale = 'en', props = {}, signedIn = undefined } = {}) {
  const pinia = createPinia()
  setActivePinia(pinia)
  const i18n = createAppI18n(locale)
  useLocaleForApi(() => i18n.global.locale.value)
  const router = createAppRouter({ history: createMemoryHistory(), onLocale: (next) => (i18n.global.locale.value = next) })
  if (signedIn !== undefined) {
    const { useAuthStore } = await import('@/stores/auth.js')
    useAuthStore().setUser(signedIn)
  }
  router.push(url)
  await router.isReady()
  const wrapper = mount(component, { props, global: { plugins: [pinia, i18n, router] }, attachTo: document.body })
  await flushPromises()
  return { wrapper, router, i18n, pinia }
}

export { flushPromises }

import { defineComponent, h } from 'vue'
import { RouterView } from 'vue-router'

/** Renders whatever page the router is on, as App.vue does. */
export const Host = defineComponent({ render: () => h(RouterView) })
