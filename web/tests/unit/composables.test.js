import { describe, expect, it } from 'vitest'
import { effectScope, nextTick } from 'vue'
import { ApiError } from '@/api/client.js'
import { useAsync } from '@/composables/useAsync.js'
import { useCursorList } from '@/composables/useCursorList.js'
import { errorMessage, invalidFields } from '@/composables/useErrorMessage.js'
import { MAX_IMAGE_BYTES, imageFileProblem, useImageFile } from '@/composables/useImageFile.js'
import { readConfig } from '@/config.js'
import { formatDate, formatMoney, formatNumber } from '@/format.js'

function deferred() {
  let resolve, reject
  const promise = new Promise((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('useAsync', () => {
  it('tracks loading, data and error', async () => {
    const task = deferred()
    const state = useAsync(() => task.promise)
    const running = state.run()
    expect(state.loading.value).toBe(true)
    task.resolve(42)
    expect(await running).toBe(42)
    expect(state.data.value).toBe(42)
    expect(state.loading.value).toBe(false)

    const failing = useAsync(async () => {
      throw new ApiError({ code: 'X' })
    })
    expect(await failing.run()).toBeUndefined()
    expect(failing.error.value.code).toBe('X')
  })

  it('keeps only the latest of overlapping runs', async () => {
    const first = deferred()
    const second = deferred()
    const calls = [first, second]
    const state = useAsync(() => calls.shift().promise)
    const a = state.run()
    const b = state.run()
    second.resolve('new')
    await b
    first.resolve('old')
    await a
    expect(state.data.value).toBe('new')
    expect(state.loading.value).toBe(false)
  })

  it('can start at once', async () => {
    const state = useAsync(async () => 'now', { immediate: true })
    expect(state.loading.value).toBe(true)
    await nextTick()
    await Promise.resolve()
    expect(state.data.value).toBe('now')
  })
})

describe('useCursorList', () => {
  const pages = {
    null: { results: [1, 2], next_cursor: 'c2', has_more: true },
    c2: { results: [3], next_cursor: null, has_more: false },
  }

  it('reads page after page until the last', async () => {
    const cursors = []
    const list = useCursorList(async (cursor) => {
      cursors.push(cursor)
      return pages[cursor]
    })
    await list.loadMore()
    expect(list.items.value).toEqual([1, 2])
    expect(list.hasMore.value).toBe(true)
    await list.loadMore()
    await list.loadMore() // nothing more to read
    expect(list.items.value).toEqual([1, 2, 3])
    expect(list.hasMore.value).toBe(false)
    expect(cursors).toEqual([null, 'c2'])
  })

  it('starts again on reload and drops answers of the previous run', async () => {
    const slow = deferred()
    let calls = 0
    const list = useCursorList(async () => (++calls === 1 ? slow.promise : pages.c2))
    const stale = list.loadMore()
    await list.reload()
    slow.resolve(pages.null)
    await stale
    expect(list.items.value).toEqual([3])
  })

  it('keeps what it has when a page fails', async () => {
    let fail = false
    const list = useCursorList(async (cursor) => {
      if (fail) throw new ApiError({ code: 'NETWORK_ERROR' })
      return pages[cursor]
    })
    await list.loadMore()
    fail = true
    await list.loadMore()
    expect(list.items.value).toEqual([1, 2])
    expect(list.error.value.code).toBe('NETWORK_ERROR')
    expect(list.loading.value).toBe(false)
  })
})

describe('image files', () => {
  const png = (size = 10) => new File([new Uint8Array(size)], 'a.png', { type: 'image/png' })

  it('mirrors the server’s upload rules', () => {
    expect(imageFileProblem(png())).toBeNull()
    expect(imageFileProblem(new File(['x'], 'a.gif', { type: 'image/gif' }))).toBe('errors.fileType')
    const big = png()
    Object.defineProperty(big, 'size', { value: MAX_IMAGE_BYTES + 1 })
    expect(imageFileProblem(big)).toBe('errors.fileSize')
    expect(imageFileProblem(null)).toBeNull()
  })

  it('previews a good file and releases the preview when it changes', () => {
    const scope = effectScope()
    const image = scope.run(() => useImageFile())
    image.choose(png())
    const first = image.previewUrl.value
    expect(first).toMatch(/^blob:/)
    image.choose(new File(['x'], 'a.txt', { type: 'text/plain' }))
    expect(image.file.value).toBeNull()
    expect(image.problem.value).toBe('errors.fileType')
    expect(URL.revokeObjectURL).toHaveBeenCalledWith(first)
    image.clear()
    expect(image.previewUrl.value).toBeNull()
    scope.stop()
  })
})

describe('error messages', () => {
  const t = (key) => `t:${key}`

  it('uses the API’s localized message, the app’s own for browser-side failures', () => {
    expect(errorMessage(new ApiError({ code: 'X', message: '메시지' }), t)).toBe('메시지')
    expect(errorMessage(new ApiError({ code: 'NETWORK_ERROR' }), t)).toBe('t:errors.NETWORK_ERROR')
    expect(errorMessage(new ApiError({ code: 'INVALID_RESPONSE' }), t)).toBe('t:errors.INVALID_RESPONSE')
    expect(errorMessage({ code: 'Y', message: '' }, t)).toBe('t:common.errorTitle')
    expect(errorMessage(null, t)).toBe('')
  })

  it('names the fields a validation error is about', () => {
    const error = new ApiError({
      code: 'VALIDATION_ERROR',
      details: { errors: [{ loc: ['body', 'username'] }, { loc: ['body'] }, { loc: [] }] },
    })
    expect([...invalidFields(error)]).toEqual(['username', 'body'])
    expect(invalidFields(new ApiError({ code: 'OTHER' })).size).toBe(0)
  })
})

describe('config and formats', () => {
  it('reads the server’s <meta> config, with defaults', () => {
    expect(readConfig(document)).toEqual({ devSignIn: true, googleSignIn: true, payments: 'dev' })
    const meta = document.createElement('meta')
    meta.name = 'sl-config'
    meta.content = '{"devSignIn": false, "payments": "toss"}'
    document.head.append(meta)
    expect(readConfig(document)).toEqual({ devSignIn: false, googleSignIn: true, payments: 'toss' })
    meta.content = 'not json'
    expect(readConfig(document).devSignIn).toBe(true)
    meta.remove()
  })

  it('formats numbers, money and dates per language', () => {
    expect(formatNumber(12345, 'en')).toBe('12,345')
    expect(formatMoney('10000', 'KRW', 'en')).toBe('₩10,000')
    expect(formatMoney('10000', 'KRW', 'ko')).toBe('₩10,000')
    expect(formatDate('2026-11-27T10:00:00Z', 'en')).toBe('November 27, 2026')
    expect(formatDate('2026-11-27T10:00:00Z', 'ko')).toBe('2026년 11월 27일')
    expect(formatDate(null, 'en')).toBe('')
  })
})
