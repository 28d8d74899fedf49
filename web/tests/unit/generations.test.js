import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { Generation } from '@/api/schemas.js'
import { useGenerationsStore } from '@/stores/generations.js'
import { Host, fail, fakeApi, flushPromises, me, mountApp, ok } from './helpers.js'

const CSRF = { 'GET /api/v1/auth/csrf': ok({ csrf_token: 'c' }) }
const style = (overrides = {}) => ({
  id: 9, title: 'ink harbour', description: 'Boats in ink.', generation_cost_tokens: 30, training_status: 'completed',
  progress: null, thumbnail_url: null, artist: { user_id: 3, artist_name: '한지우', username: 'jiwoo' },
  tags: ['ink harbour'], generation_count: 12, created_at: '2026-11-20T10:00:00Z', trained_at: '2026-11-21T10:00:00Z',
  ...overrides,
})
const generation = (overrides = {}) => ({
  id: 41, status: 'completed', user_id: 7, style: { id: 9, title: 'ink harbour', artist_user_id: 3, artist_name: '한지우' },
  prompt_tags: ['boat', 'sunset'], description: null, aspect_ratio: '1:1', width: 512, height: 512, seed: 42, cost_tokens: 30,
  is_public: false, image_url: '/media/g/41.png', thumbnail_url: '/media/g/41.webp', like_count: 2, comment_count: 0,
  progress: null, queue: null, attempts: 1, error_code: null, created_at: '2026-11-27T10:00:00Z', completed_at: '2026-11-27T10:01:00Z',
  ...overrides,
})
const page = (results, more = null) => ok({ results, next_cursor: more, has_more: Boolean(more) })
const balance = (n) => ok({ token_balance: n, earned_token_balance: null })

async function addTag(wrapper, tag) {
  const input = wrapper.get('#generate-tags')
  await input.setValue(tag)
  await input.trigger('keydown', { key: 'Enter' })
}

beforeEach(() => setActivePinia(createPinia()))

describe('generations store', () => {
  it('sends the request with an Idempotency-Key and reads, lists and updates', async () => {
    const fetch = fakeApi({
      ...CSRF,
      'POST /api/v1/generations': ok(generation({ status: 'queued', image_url: null, queue: { position: 1, estimated_seconds: 20 } }), 202),
      'GET /api/v1/generations/41': ok(generation()),
      'GET /api/v1/generations/me': page([generation()]),
      'PATCH /api/v1/generations/41': (request) => ok(generation(request.json)),
    })
    const store = useGenerationsStore()
    const queued = await store.create({ styleId: 9, promptTags: ['boat'], aspectRatio: '2:2', seed: '7', description: 'hi' }, 'key-1')
    expect(queued.queue.position).toBe(1)
    const post = fetch.requests.find((r) => r.method === 'POST')
    expect(post.headers['Idempotency-Key']).toBe('key-1')
    expect(post.json).toEqual({ style_id: 9, prompt_tags: ['boat'], aspect_ratio: '2:2', seed: 7, description: 'hi' })
    await store.create({ styleId: 9, promptTags: ['boat'], seed: '' })
    const second = fetch.requests.filter((r) => r.method === 'POST')[1]
    expect(second.json).toEqual({ style_id: 9, prompt_tags: ['boat'], aspect_ratio: '1:1' })
    expect(second.headers['Idempotency-Key']).toMatch(/^[0-9a-f-]{36}$/)
    expect((await store.get(41)).status).toBe('completed')
    expect((await store.minePage(null)).results).toHaveLength(1)
    expect((await store.update(41, { is_public: true })).is_public).toBe(true)
    expect(store.downloadUrl(41)).toBe('/api/v1/generations/41/download')
  })

  it('checks GenerationOut', () => {
    expect(Generation.safeParse(generation()).success).toBe(true)
    expect(Generation.safeParse(generation({ status: 'done' })).success).toBe(false)
  })
})

describe('generate panel', () => {
  it('asks to sign in when signed out', async () => {
    fakeApi({ 'GET /api/v1/auth/me': fail(401, 'UNAUTHORIZED'), 'GET /api/v1/styles/9': ok(style()) })
    const { wrapper } = await mountApp(Host, { url: '/styles/9' })
    expect(wrapper.find('[data-test="generate-panel"]').exists()).toBe(false)
    expect(wrapper.get('[data-test="generate-sign-in"]').text()).toContain('Sign in')
  })

  it('refuses when the balance is too low', async () => {
    const fetch = fakeApi({ 'GET /api/v1/auth/me': ok(me({ token_balance: 10 })), 'GET /api/v1/styles/9': ok(style()), 'GET /api/v1/tokens/balance': balance(10) })
    const { wrapper } = await mountApp(Host, { url: '/styles/9' })
    expect(wrapper.get('[data-test="generate-price"]').text()).toBe('30 tokens per image')
    expect(wrapper.get('[data-test="generate-balance"]').text()).toBe('10')
    expect(wrapper.get('[data-test="too-low"]').text()).toContain('You need 20 more tokens')
    expect(wrapper.get('[data-test="generate-submit"]').attributes('disabled')).toBeDefined()
    await wrapper.get('form').trigger('submit')
    expect(fetch.requests.some((r) => r.method === 'POST')).toBe(false)
  })

  it('needs a tag, then queues once per click, follows progress and shows the image', async () => {
    vi.useFakeTimers()
    const answers = [
      generation({ status: 'processing', image_url: null, progress: { current_step: 10, total_steps: 20, progress_percent: 50, estimated_seconds: 5, last_updated: 'x' } }),
      generation(),
    ]
    const fetch = fakeApi({
      ...CSRF,
      'GET /api/v1/auth/me': ok(me()),
      'GET /api/v1/styles/9': ok(style()),
      'GET /api/v1/tokens/balance': balance(100),
      'POST /api/v1/generations': ok(generation({ status: 'queued', image_url: null, queue: { position: 3, estimated_seconds: 120 } }), 202),
      'GET /api/v1/generations/41': () => ok(answers.shift() ?? generation()),
      'GET /api/v1/notifications': ok({ results: [], next_cursor: null, has_more: false, unread_count: 1 }),
    })
    const { wrapper } = await mountApp(Host, { url: '/styles/9' })
    const notificationReads = () => fetch.requests.filter((r) => r.path === '/api/v1/notifications').length
    await wrapper.get('form').trigger('submit')
    expect(wrapper.text()).toContain('Add at least one tag.')
    await addTag(wrapper, 'boat')
    await wrapper.get('[data-test="ratio-1:2"]').setValue()
    await wrapper.get('[data-test="seed"]').setValue('42')
    await wrapper.get('form').trigger('submit')
    await wrapper.get('form').trigger('submit') // a double click sends once
    await flushPromises()
    const posts = fetch.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/generations')
    expect(posts).toHaveLength(1)
    expect(posts[0].json).toEqual({ style_id: 9, prompt_tags: ['boat'], aspect_ratio: '1:2', seed: 42 })
    expect(posts[0].headers['Idempotency-Key']).toBeTruthy()
    expect(wrapper.get('[data-test="generation-status"]').text()).toContain('position 3, about 2 minutes')
    await vi.advanceTimersByTimeAsync(5000)
    expect(wrapper.get('[data-test="generation-status"]').text()).toContain('step 10 of 20 (50%)')
    expect(wrapper.get('[role="progressbar"]').attributes('aria-valuenow')).toBe('50')
    expect(notificationReads()).toBe(0)
    await vi.advanceTimersByTimeAsync(5000)
    expect(wrapper.get('[data-test="download"]').attributes('href')).toBe('/api/v1/generations/41/download')
    expect(notificationReads()).toBe(1) // the badge learns of "Your image is ready." at once
    const reads = fetch.requests.filter((r) => r.path === '/api/v1/generations/41').length
    await vi.advanceTimersByTimeAsync(20000)
    expect(fetch.requests.filter((r) => r.path === '/api/v1/generations/41')).toHaveLength(reads)
    await wrapper.get('[data-test="generate-again"]').trigger('click')
    expect(wrapper.find('form').exists()).toBe(true)
    vi.useRealTimers()
  })

  it('shows a failure as refunded, and the server’s INSUFFICIENT_TOKENS details', async () => {
    vi.useFakeTimers()
    let post = fail(402, 'INSUFFICIENT_TOKENS', 'Not enough tokens.', { required: 30, available: 12 })
    fakeApi({
      ...CSRF,
      'GET /api/v1/auth/me': ok(me()),
      'GET /api/v1/styles/9': ok(style()),
      'GET /api/v1/tokens/balance': balance(100),
      'POST /api/v1/generations': () => post,
      'GET /api/v1/generations/41': ok(generation({ status: 'failed', image_url: null, error_code: 'GENERATION_FAILED' })),
    })
    const { wrapper } = await mountApp(Host, { url: '/styles/9' })
    await addTag(wrapper, 'boat')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test="insufficient"]').text()).toContain('this image costs 30, you have 12')
    post = ok(generation({ status: 'retrying', image_url: null, queue: { position: 1, estimated_seconds: 30 } }), 202)
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test="generation-status"]').text()).toContain('Trying again')
    await vi.advanceTimersByTimeAsync(5000)
    expect(wrapper.get('[data-test="generation-status"]').text()).toContain('tokens were refunded')
    vi.useRealTimers()
  })
})

describe('generation page', () => {
  it('shows the image with style, likes, comments, download and share', async () => {
    const writeText = vi.fn(async () => {})
    vi.stubGlobal('navigator', { ...globalThis.navigator, clipboard: { writeText } })
    fakeApi({
      ...CSRF,
      'GET /api/v1/auth/me': ok(me({ id: 8 })),
      'GET /api/v1/generations/41': ok(generation({ is_public: true, description: 'Harbour at dusk' })),
      'POST /api/v1/generations/41/like': ok({ generation_id: 41, liked: true, like_count: 3 }),
      'GET /api/v1/generations/41/comments': page([]),
    })
    const { wrapper } = await mountApp(Host, { url: '/ko/generations/41' })
    const detail = wrapper.get('[data-test="generation-detail"]')
    expect(detail.text()).toContain('Harbour at dusk')
    expect(wrapper.get('[data-test="generation-style"]').text()).toContain('ink harbour')
    expect(wrapper.find('[data-test="owner-panel"]').exists()).toBe(false)
    expect(wrapper.get('[data-test="download"]').attributes('href')).toBe('/api/v1/generations/41/download')
    await wrapper.get('[data-test="like"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test="like-count"]').text()).toBe('3')
    await wrapper.get('[data-test="share"]').trigger('click')
    await flushPromises()
    expect(writeText).toHaveBeenCalled()
    expect(wrapper.text()).toContain('링크를 복사했습니다.')
    await wrapper.get('[data-test="open-comments"]').trigger('click')
    await flushPromises()
    expect(document.body.querySelector('[role="dialog"]')).not.toBeNull()
    wrapper.unmount()
  })

  it('lets the owner share it and edit the description', async () => {
    const fetch = fakeApi({
      ...CSRF,
      'GET /api/v1/auth/me': ok(me()),
      'GET /api/v1/generations/41': ok(generation()),
      'PATCH /api/v1/generations/41': (request) => ok(generation(request.json)),
    })
    const { wrapper } = await mountApp(Host, { url: '/generations/41' })
    expect(wrapper.get('[data-test="visibility"]').text()).toBe('Private')
    await wrapper.get('[data-test="toggle-public"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test="visibility"]').text()).toBe('Public')
    await wrapper.get('[data-test="edit-description"]').trigger('click')
    await wrapper.get('[data-test="description-input"]').setValue('Quiet boats')
    await wrapper.get('[data-test="description-save"]').trigger('click')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-test="description"]').text()).toBe('Quiet boats')
    expect(fetch.requests.filter((r) => r.method === 'PATCH').map((r) => r.json)).toContainEqual({ description: 'Quiet boats' })
    wrapper.unmount()
  })

  it('follows a pending image and says when it is not found', async () => {
    vi.useFakeTimers()
    const answers = [generation({ status: 'queued', image_url: null, queue: { position: 2, estimated_seconds: 40 } }), generation()]
    const fetch = fakeApi({
      'GET /api/v1/auth/me': ok(me()),
      'GET /api/v1/generations/41': () => ok(answers.shift() ?? generation()),
      'GET /api/v1/notifications': ok({ results: [], next_cursor: null, has_more: false, unread_count: 1 }),
    })
    const { wrapper, router } = await mountApp(Host, { url: '/generations/41' })
    expect(wrapper.get('[data-test="generation-status"]').text()).toContain('position 2')
    await vi.advanceTimersByTimeAsync(5000)
    expect(wrapper.find('[data-test="generation-status"]').exists()).toBe(false)
    expect(fetch.requests.filter((r) => r.path === '/api/v1/notifications')).toHaveLength(1)
    vi.useRealTimers()
    await router.push('/generations/404')
    await flushPromises()
    expect(wrapper.text()).toContain('Image not found')
    wrapper.unmount()
  })
})

describe('my page images', () => {
  it('lists my images page by page and shares one', async () => {
    const fetch = fakeApi({
      ...CSRF,
      'GET /api/v1/auth/me': ok(me()),
      'GET /api/v1/users/7': fail(404, 'NOT_FOUND'),
      'GET /api/v1/tokens/balance': balance(100),
      'GET /api/v1/generations/me': (request) =>
        request.query.cursor ? page([generation({ id: 40, status: 'failed', image_url: null, thumbnail_url: null })]) : page([generation()], 'c2'),
      'PATCH /api/v1/generations/41': (request) => ok(generation(request.json)),
    })
    const { wrapper } = await mountApp(Host, { url: '/me' })
    const list = wrapper.get('[data-test="my-generations"]')
    expect(list.find('[data-test="my-generation-41"]').exists()).toBe(true)
    await list.get('button.btn-secondary').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test="my-generation-40"]').text()).toContain('Failed (refunded)')
    expect(fetch.requests.filter((r) => r.path === '/api/v1/generations/me').at(-1).query.cursor).toBe('c2')
    const toggle = wrapper.get('[data-test="my-generation-41"] [data-test="toggle-public"]')
    expect(toggle.text()).toBe('Private')
    await toggle.trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test="my-generation-41"] [data-test="toggle-public"]').attributes('aria-checked')).toBe('true')
  })

  it('says when there are none', async () => {
    fakeApi({ 'GET /api/v1/auth/me': ok(me()), 'GET /api/v1/generations/me': page([]) })
    const { wrapper } = await mountApp(Host, { url: '/me' })
    expect(wrapper.get('[data-test="my-generations"]').text()).toContain('not made any images yet')
  })
})

describe('idempotency and feed links', () => {
  it('sends the same key again only after a dropped connection', async () => {
    let answer = new TypeError('offline')
    const fetch = fakeApi({
      ...CSRF,
      'GET /api/v1/auth/me': ok(me()),
      'GET /api/v1/styles/9': ok(style()),
      'GET /api/v1/tokens/balance': balance(100),
      'POST /api/v1/generations': () => answer,
    })
    const { wrapper } = await mountApp(Host, { url: '/styles/9' })
    await addTag(wrapper, 'boat')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.find('[data-test="generate-error"]').exists()).toBe(true)
    answer = fail(429, 'RATE_LIMITED', 'Slow down.')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    const keys = fetch.requests.filter((r) => r.method === 'POST').map((r) => r.headers['Idempotency-Key'])
    expect(keys).toHaveLength(3)
    expect(keys[1]).toBe(keys[0])
    expect(keys[2]).not.toBe(keys[1])
    wrapper.unmount()
  })

  it('feed tiles open the image page', async () => {
    const card = {
      id: 41, image_url: '/i.png', thumbnail_url: null, description: null, prompt_tags: ['boat'], aspect_ratio: '1:1', width: 512, height: 512,
      is_public: true, like_count: 0, comment_count: 0, liked_by_me: null, owner: { id: 7, username: 'mina', profile_image_url: null },
      style: { id: 9, title: 'ink harbour', thumbnail_url: null, artist: { id: 3, artist_name: '한지우' } }, created_at: '2026-11-27T10:00:00Z',
    }
    fakeApi({ 'GET /api/v1/auth/me': fail(401, 'UNAUTHORIZED'), 'GET /api/v1/feed': page([card]), 'GET /api/v1/generations/41': ok(generation({ is_public: true })) })
    const { wrapper, router } = await mountApp(Host, { url: '/en' })
    await wrapper.get('[data-test="generation-41"] [data-test="open-generation"]').trigger('click')
    await flushPromises()
    expect(router.currentRoute.value.path).toBe('/en/generations/41')
    wrapper.unmount()
  })
})
