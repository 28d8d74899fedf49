// The one way the app talks to the API: the `{success, data}` envelope, localized errors, CSRF on writes,
// and every response checked against its zod schema before a component sees it.

export const CSRF_COOKIE = 'sl_csrf'
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

// Errors the browser meets before the API can answer get codes of their own; their messages are the app's.
export const NETWORK_ERROR = 'NETWORK_ERROR'
export const INVALID_RESPONSE = 'INVALID_RESPONSE'

export class ApiError extends Error {
  constructor({ status = 0, code, message = '', details = null, requestId = null }) {
    super(message || code)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
    this.requestId = requestId
  }
}

export function readCookie(name, cookieString = globalThis.document?.cookie ?? '') {
  for (const part of cookieString.split(';')) {
    const [key, ...value] = part.trim().split('=')
    if (key === name) return decodeURIComponent(value.join('='))
  }
  return null
}

/** The data of a success envelope; an ApiError for anything else. */
function unwrap(status, body, requestId) {
  const ok = status >= 200 && status < 300
  if (body && body.success === true && ok) return body.data
  if (body && body.success === false && body.error) {
    const { code, message, details = null, request_id: id = requestId } = body.error
    throw new ApiError({ status, code, message, details, requestId: id })
  }
  throw new ApiError({ status, code: ok ? INVALID_RESPONSE : NETWORK_ERROR, requestId })
}

function withQuery(path, query) {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `${path}?${text}` : path
}

/**
 * @param {object} options
 * @param {string} [options.baseUrl] prefix of every path ('' = this origin)
 * @param {() => string} [options.locale] the UI language, sent as Accept-Language
 * @param {typeof fetch} [options.fetch]
 * @param {() => string} [options.cookies] document.cookie, injectable for tests
 * @param {() => XMLHttpRequest} [options.xhrFactory] for uploads with progress, injectable for tests
 */
export function createApiClient({
  baseUrl = '',
  locale = () => 'en',
  fetch: fetchImpl = (...args) => globalThis.fetch(...args),
  cookies = () => globalThis.document?.cookie ?? '',
  xhrFactory = () => new XMLHttpRequest(),
} = {}) {
  let csrfToken = null

  async function send(method, path, { query, json, form, headers = {}, signal } = {}) {
    const init = { method, credentials: 'same-origin', signal, headers: { Accept: 'application/json', ...headers } }
    init.headers['Accept-Language'] = locale()
    if (json !== undefined) {
      init.headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(json)
    } else if (form !== undefined) {
      init.body = form // the browser sets the multipart boundary
    }
    if (WRITE_METHODS.has(method)) init.headers['X-CSRF-Token'] = await currentCsrfToken()
    let response
    try {
      response = await fetchImpl(baseUrl + withQuery(path, query), init)
    } catch (error) {
      if (error?.name === 'AbortError') throw error
      throw new ApiError({ code: NETWORK_ERROR, message: String(error?.message ?? error) })
    }
    let body = null
    try {
      body = await response.json()
    } catch {
      body = null
    }
    return unwrap(response.status, body, response.headers?.get?.('x-request-id') ?? null)
  }

  async function currentCsrfToken() {
    const fromCookie = readCookie(CSRF_COOKIE, cookies())
    if (fromCookie) return fromCookie
    if (!csrfToken) csrfToken = (await send('GET', '/api/v1/auth/csrf')).csrf_token
    return csrfToken
  }

  function parse(schema, data) {
    if (!schema) return data
    const result = schema.safeParse(data)
    if (result.success) return result.data
    // A response the app does not understand is a bug to report, not data to render.
    console.error('Unexpected API response', result.error.issues)
    throw new ApiError({ code: INVALID_RESPONSE, details: { issues: result.error.issues } })
  }

  async function request(method, path, options = {}) {
    try {
      return parse(options.schema, await send(method, path, options))
    } catch (error) {
      // A stale token (signed in elsewhere, cookie cleared): fetch a fresh one and try once more.
      if (error instanceof ApiError && error.code === 'CSRF_FAILED' && !options.retried) {
        csrfToken = (await send('GET', '/api/v1/auth/csrf')).csrf_token
        return request(method, path, { ...options, retried: true })
      }
      throw error
    }
  }

  /**
   * A multipart upload that reports its progress (fetch cannot): `onProgress(fraction)` from 0 to 1.
   * Same envelope, CSRF, language and schema handling as the other calls.
   */
  async function upload(path, { form, schema, onProgress = () => {}, method = 'POST' }) {
    const token = await currentCsrfToken()
    const xhr = xhrFactory()
    const answer = new Promise((resolve, reject) => {
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total)
      }
      xhr.onload = () => {
        let body = null
        try {
          body = JSON.parse(xhr.responseText)
        } catch {
          body = null
        }
        try {
          resolve(unwrap(xhr.status, body, xhr.getResponseHeader('x-request-id')))
        } catch (error) {
          reject(error)
        }
      }
      xhr.onerror = () => reject(new ApiError({ code: NETWORK_ERROR }))
    })
    xhr.open(method, baseUrl + path)
    xhr.withCredentials = true
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.setRequestHeader('Accept-Language', locale())
    xhr.setRequestHeader('X-CSRF-Token', token)
    xhr.send(form)
    const data = await answer
    onProgress(1)
    return parse(schema, data)
  }

  return {
    upload,
    get: (path, options) => request('GET', path, options),
    post: (path, options) => request('POST', path, options),
    put: (path, options) => request('PUT', path, options),
    patch: (path, options) => request('PATCH', path, options),
    delete: (path, options) => request('DELETE', path, options),
    /** Sign-in hands out a new CSRF token; remember it when the cookie is not readable. */
    rememberCsrfToken(token) {
      csrfToken = token
    },
  }
}
