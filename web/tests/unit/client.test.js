import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { ApiError, INVALID_RESPONSE, NETWORK_ERROR, createApiClient, readCookie } from '@/api/client.js'
import { fail, fakeApi, ok } from './helpers.js'

function client(options = {}) {
  return createApiClient({ locale: () => 'ko', cookies: () => '', ...options })
}

describe('api client', () => {
  it('returns the data of a success envelope and sends the UI language', async () => {
    const fetch = fakeApi({ 'GET /api/v1/things': ok({ n: 1 }) })
    expect(await client().get('/api/v1/things', { query: { limit: 5, cursor: null } })).toEqual({ n: 1 })
    const [request] = fetch.requests
    expect(request.headers['Accept-Language']).toBe('ko')
    expect(request.query).toEqual({ limit: '5' })
    expect(fetch.mock.calls[0][1].credentials).toBe('same-origin')
  })

  it('turns an error envelope into an ApiError with code, message, details and request id', async () => {
    fakeApi({ 'GET /api/v1/x': fail(402, 'INSUFFICIENT_TOKENS', '토큰이 부족합니다.', { required: 10 }) })
    const error = await client().get('/api/v1/x').catch((e) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 402, code: 'INSUFFICIENT_TOKENS', message: '토큰이 부족합니다.', requestId: 'req-1' })
    expect(error.details).toEqual({ required: 10 })
  })

  it('echoes the sl_csrf cookie on writes, never on reads', async () => {
    const fetch = fakeApi({ 'POST /api/v1/x': ok(null), 'GET /api/v1/x': ok(null) })
    const api = client({ cookies: () => 'other=1; sl_csrf=tok%3D1' })
    await api.post('/api/v1/x', { json: { a: 1 } })
    await api.get('/api/v1/x')
    expect(fetch.requests[0].headers['X-CSRF-Token']).toBe('tok=1')
    expect(fetch.requests[0].headers['Content-Type']).toBe('application/json')
    expect(fetch.requests[0].json).toEqual({ a: 1 })
    expect(fetch.requests[1].headers['X-CSRF-Token']).toBeUndefined()
  })

  it('fetches a CSRF token when there is no cookie, once', async () => {
    const fetch = fakeApi({ 'GET /api/v1/auth/csrf': ok({ csrf_token: 'fresh' }), 'DELETE /api/v1/x': ok(null) })
    const api = client()
    await api.delete('/api/v1/x')
    await api.delete('/api/v1/x')
    expect(fetch.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/v1/auth/csrf',
      'DELETE /api/v1/x',
      'DELETE /api/v1/x',
    ])
    expect(fetch.requests[2].headers['X-CSRF-Token']).toBe('fresh')
  })

  it('retries a write once with a fresh token after CSRF_FAILED', async () => {
    let attempts = 0
    const fetch = fakeApi({
      'GET /api/v1/auth/csrf': ok({ csrf_token: 'new' }),
      'PUT /api/v1/x': () => (++attempts === 1 ? fail(403, 'CSRF_FAILED') : ok('done')),
    })
    const api = client()
    api.rememberCsrfToken('stale')
    expect(await api.put('/api/v1/x', { form: new FormData() })).toBe('done')
    expect(fetch.requests.filter((r) => r.method === 'PUT').map((r) => r.headers['X-CSRF-Token'])).toEqual(['stale', 'new'])
  })

  it('does not retry a second CSRF failure', async () => {
    fakeApi({ 'GET /api/v1/auth/csrf': ok({ csrf_token: 'new' }), 'PATCH /api/v1/x': fail(403, 'CSRF_FAILED') })
    await expect(client().patch('/api/v1/x', { json: {} })).rejects.toMatchObject({ code: 'CSRF_FAILED' })
  })

  it('reports an unreachable server as NETWORK_ERROR and keeps aborts as they are', async () => {
    fakeApi({ 'GET /api/v1/down': new TypeError('Failed to fetch') })
    await expect(client().get('/api/v1/down')).rejects.toMatchObject({ code: NETWORK_ERROR, status: 0 })
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' })
    fakeApi({ 'GET /api/v1/down': abort })
    await expect(client().get('/api/v1/down')).rejects.toBe(abort)
  })

  it('reports a body that is not the envelope', async () => {
    fakeApi({ 'GET /api/v1/html': { status: 502, body: undefined }, 'GET /api/v1/odd': { status: 200, body: { hello: 1 } } })
    await expect(client().get('/api/v1/html')).rejects.toMatchObject({ code: NETWORK_ERROR, status: 502 })
    await expect(client().get('/api/v1/odd')).rejects.toMatchObject({ code: INVALID_RESPONSE })
  })

  it('validates data against its schema', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    fakeApi({ 'GET /api/v1/n': ok({ n: 'one' }) })
    const schema = z.object({ n: z.number() })
    await expect(client().get('/api/v1/n', { schema })).rejects.toMatchObject({ code: INVALID_RESPONSE })
    expect(error).toHaveBeenCalled()
    fakeApi({ 'GET /api/v1/n': ok({ n: 1, extra: true }) })
    expect(await client().get('/api/v1/n', { schema })).toEqual({ n: 1 })
  })

  it('prefixes a base URL and sends multipart bodies untouched', async () => {
    const fetch = fakeApi({ 'POST /api/v1/up': ok(true) })
    const form = new FormData()
    await client({ baseUrl: 'http://app.test', cookies: () => 'sl_csrf=c' }).post('/api/v1/up', { form })
    expect(fetch.mock.calls[0][0]).toBe('http://app.test/api/v1/up')
    expect(fetch.mock.calls[0][1].body).toBe(form)
    expect(fetch.requests[0].headers['Content-Type']).toBeUndefined()
  })
})

describe('readCookie', () => {
  it('finds one cookie among many', () => {
    expect(readCookie('b', 'a=1; b=two%20words; c=3')).toBe('two words')
    expect(readCookie('z', 'a=1')).toBeNull()
    expect(readCookie('a', '')).toBeNull()
  })
})
