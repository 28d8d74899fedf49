import { afterEach, beforeEach, vi } from 'vitest'

// jsdom has no object URLs; the image pickers only need distinct strings.
// jsdom does not scroll; the router's scrollBehavior calls it.
window.scrollTo = () => {}

let objectUrls = 0
beforeEach(() => {
  globalThis.URL.createObjectURL = vi.fn(() => `blob:test/${++objectUrls}`)
  globalThis.URL.revokeObjectURL = vi.fn()
  localStorage.clear()
  document.cookie.split(';').forEach((cookie) => {
    document.cookie = `${cookie.split('=')[0].trim()}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/`
  })
})
afterEach(() => {
  vi.unstubAllGlobals()
})
