import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope } from 'vue'
import { createApiClient } from '@/api/client.js'
import TagInput from '@/components/TagInput.vue'
import { MIN_TRAINING_IMAGES, normalizeTag, useTrainingImages } from '@/composables/useTrainingImages.js'
import { formatDuration } from '@/format.js'
import { useStylesStore } from '@/stores/styles.js'
import { Host, fail, fakeApi, flushPromises, me, mountApp, ok, publicProfile } from './helpers.js'

const CSRF = { 'GET /api/v1/auth/csrf': ok({ csrf_token: 'c' }) }
const page = (results) => ok({ results, next_cursor: null, has_more: false })
const artistUser = me({ id: 3, role: 'artist', artist: { artist_name: '한지우', follower_count: 0, verified_email: 'j@x.io', earned_token_balance: 0, has_signature_image: true } })
const style = (overrides = {}) => ({
  id: 9, title: 'ink harbour', description: 'Boats in ink.', generation_cost_tokens: 30, training_status: 'completed',
  progress: null, thumbnail_url: '/media/public/s/9.webp', artist: { user_id: 3, artist_name: '한지우', username: 'jiwoo' },
  tags: ['ink harbour', 'boats'], generation_count: 12, created_at: '2026-11-20T10:00:00Z', trained_at: '2026-11-21T10:00:00Z',
  ...overrides,
})
const png = (name = 'a.png') => new File([new Uint8Array(8)], name, { type: 'image/png' })

/** An XMLHttpRequest that answers `status`/`body` after reporting upload progress. */
function fakeXhr(status, body) {
  const sent = { headers: {} }
  const xhr = {
    upload: {},
    open: (method, url) => Object.assign(sent, { method, url }),
    setRequestHeader: (name, value) => (sent.headers[name] = value),
    getResponseHeader: () => 'req-9',
    send(form) {
      sent.form = form
      this.upload.onprogress?.({ lengthComputable: true, loaded: 50, total: 100 })
      this.status = status
      this.responseText = JSON.stringify(body)
      queueMicrotask(() => this.onload())
    },
  }
  return { xhr, sent }
}

beforeEach(() => setActivePinia(createPinia()))

describe('upload with progress', () => {
  it('sends the form with CSRF and language, reports progress, unwraps the envelope', async () => {
    const { xhr, sent } = fakeXhr(202, { success: true, data: { id: 1 } })
    const api = createApiClient({ locale: () => 'ko', cookies: () => 'sl_csrf=tok', xhrFactory: () => xhr })
    const seen = []
    const form = new FormData()
    expect(await api.upload('/api/v1/styles', { form, onProgress: (f) => seen.push(f) })).toEqual({ id: 1 })
    expect(sent).toMatchObject({ method: 'POST', url: '/api/v1/styles', form })
    expect(sent.headers).toMatchObject({ 'X-CSRF-Token': 'tok', 'Accept-Language': 'ko' })
    expect(seen).toEqual([0.5, 1])
  })

  it('turns an error envelope or a dropped connection into an ApiError', async () => {
    const { xhr } = fakeXhr(403, { success: false, error: { code: 'STYLE_LIMIT_REACHED', message: 'One style per artist.' } })
    const api = createApiClient({ cookies: () => 'sl_csrf=tok', xhrFactory: () => xhr })
    await expect(api.upload('/x', { form: new FormData() })).rejects.toMatchObject({ code: 'STYLE_LIMIT_REACHED', requestId: 'req-9' })
    const broken = { upload: {}, open() {}, setRequestHeader() {}, send() { queueMicrotask(() => this.onerror()) } }
    const offline = createApiClient({ cookies: () => 'sl_csrf=tok', xhrFactory: () => broken })
    await expect(offline.upload('/x', { form: new FormData() })).rejects.toMatchObject({ code: 'NETWORK_ERROR' })
  })
})

describe('styles store', () => {
  it('lists, reads, updates, retrains and cancels training', async () => {
    const fetch = fakeApi({
      ...CSRF,
      'GET /api/v1/styles': page([style()]),
      'GET /api/v1/styles/9': ok(style()),
      'GET /api/v1/styles/me': ok([style()]),
      'PATCH /api/v1/styles/9': (r) => ok(style(r.json)),
      'POST /api/v1/styles/9/retrain': ok(style({ training_status: 'pending' })),
      'POST /api/v1/styles/9/training/cancel': ok(style({ training_status: 'failed' })),
    })
    const styles = useStylesStore()
    await styles.list({ sort: 'popular', tag: 'boats' })
    expect(fetch.requests[0].query).toEqual({ sort: 'popular', tag: 'boats', limit: '24' })
    expect((await styles.get(9)).title).toBe('ink harbour')
    expect(await styles.mine()).toHaveLength(1)
    expect((await styles.update(9, { description: 'New' })).description).toBe('New')
    expect((await styles.retrain(9)).training_status).toBe('pending')
    expect((await styles.cancelTraining(9)).training_status).toBe('failed')
  })

  it('creates a style: fields, one tag list per image, the files', async () => {
    const styles = useStylesStore()
    const { api } = await import('@/api/index.js')
    const upload = vi.spyOn(api, 'upload').mockResolvedValue(style({ training_status: 'pending' }))
    const images = [{ file: png('1.png'), tags: ['boat'] }, { file: png('2.png'), tags: [] }]
    await styles.create({ title: 'ink harbour', description: 'd', price: 30, images }, () => {})
    const form = upload.mock.calls[0][1].form
    expect(form.get('title')).toBe('ink harbour')
    expect(form.get('generation_cost_tokens')).toBe('30')
    expect(JSON.parse(form.get('tags'))).toEqual([['boat'], []])
    expect(form.getAll('images').map((file) => file.name)).toEqual(['1.png', '2.png'])
  })
})

describe('training images', () => {
  it('normalizes English tags and refuses others', () => {
    expect(normalizeTag('  Ink   Wash ')).toBe('ink wash')
    expect(normalizeTag("rock'n'roll")).toBe("rock'n'roll")
    expect(normalizeTag('수채화')).toBeNull()
    expect(normalizeTag('-dash')).toBeNull()
    expect(normalizeTag('x'.repeat(51))).toBeNull()
  })

  it('checks type, size and count as the server does', async () => {
    const scope = effectScope()
    const sizes = { 'small.png': { width: 300, height: 800 } }
    const training = scope.run(() => useTrainingImages({ measure: async (file) => sizes[file.name] ?? { width: 768, height: 768 } }))
    await training.add([png('small.png'), new File(['x'], 'a.gif', { type: 'image/gif' })])
    expect(training.images.value.map((image) => image.problem)).toEqual(['styles.imageTooSmall', 'errors.fileType'])
    expect(training.problems.value).toBe(2)
    training.clear()
    await training.add(Array.from({ length: MIN_TRAINING_IMAGES - 1 }, (_, i) => png(`${i}.png`)))
    expect(training.countProblem.value).toBe('styles.tooFewImages')
    await training.add([png('last.png')])
    expect(training.ready.value).toBe(true)
    training.remove(training.images.value[0].id)
    expect(training.ready.value).toBe(false)
    expect(await training.add(Array.from({ length: 95 }, (_, i) => png(`more-${i}.png`)))).toBe(4)
    expect(training.images.value).toHaveLength(100)
    scope.stop()
  })

  it('marks a file the browser cannot decode', async () => {
    const scope = effectScope()
    const training = scope.run(() => useTrainingImages({ measure: async () => { throw new Error('bad') } }))
    await training.add([png()])
    expect(training.images.value[0].problem).toBe('errors.fileType')
    scope.stop()
  })

  it('TagInput adds, refuses and removes tags', async () => {
    fakeApi({ 'GET /api/v1/auth/me': fail(401, 'UNAUTHORIZED') })
    const { wrapper } = await mountApp(TagInput, { props: { label: 'Tags', inputId: 't', modelValue: ['boat'] } })
    const input = wrapper.get('input')
    await input.setValue('Ink Wash')
    await input.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('update:modelValue').at(-1)[0]).toEqual(['boat', 'ink wash'])
    await wrapper.setProps({ modelValue: ['boat', 'ink wash'] })
    await input.setValue('수채화')
    await input.trigger('keydown', { key: ',' })
    expect(wrapper.get('[role="alert"]').text()).toContain('Tags are English')
    await input.setValue('')
    await input.trigger('keydown', { key: 'Backspace' })
    expect(wrapper.emitted('update:modelValue').at(-1)[0]).toEqual(['boat'])
    await wrapper.get('button').trigger('click') // the × of "boat"
    expect(wrapper.emitted('update:modelValue').at(-1)[0]).toEqual([])
  })

  it('formats durations', () => {
    expect(formatDuration(45, 'en')).toBe('45 seconds')
    expect(formatDuration(600, 'en')).toBe('10 minutes')
    expect(formatDuration(5400, 'en')).toBe('1.5 hours')
    expect(formatDuration(120, 'ko')).toBe('2분')
  })
})

describe('style page', () => {
  it('shows a trained style with its price and the reader’s balance', async () => {
    fakeApi({ 'GET /api/v1/auth/me': ok(me({ token_balance: 10 })), 'GET /api/v1/styles/9': ok(style()) })
    const { wrapper } = await mountApp(Host, { url: '/styles/9' })
    const detail = wrapper.get('[data-test="style-detail"]')
    expect(detail.text()).toContain('ink harbour')
    expect(detail.text()).toContain('by 한지우')
    expect(wrapper.get('[data-test="style-price"]').text()).toBe('30 tokens per image')
    expect(detail.text()).toContain('You need 20 more tokens')
    expect(wrapper.find('[data-test="artist-panel"]').exists()).toBe(false)
  })

  it('follows training every few seconds until it is done', async () => {
    vi.useFakeTimers()
    const answers = [
      style({ training_status: 'training', progress: { current_epoch: 2, total_epochs: 10, progress_percent: 20, estimated_seconds: 480, last_updated: 'x' } }),
      style({ training_status: 'training', progress: { current_epoch: 9, total_epochs: 10, progress_percent: 90, estimated_seconds: 60, last_updated: 'x' } }),
      style(),
    ]
    const fetch = fakeApi({
      'GET /api/v1/auth/me': ok(artistUser),
      'GET /api/v1/styles/9': () => ok(answers.shift() ?? style()),
      'GET /api/v1/notifications': ok({ results: [], next_cursor: null, has_more: false, unread_count: 1 }),
    })
    const notificationReads = () => fetch.requests.filter((r) => r.path === '/api/v1/notifications').length
    const { wrapper } = await mountApp(Host, { url: '/styles/9' })
    expect(wrapper.get('[data-test="training-progress"]').text()).toContain('Epoch 2 of 10 · 20%')
    expect(wrapper.get('[data-test="training-progress"]').text()).toContain('About 8 minutes left')
    await vi.advanceTimersByTimeAsync(5000)
    expect(wrapper.get('[data-test="training-progress"]').text()).toContain('Epoch 9 of 10')
    expect(notificationReads()).toBe(0)
    await vi.advanceTimersByTimeAsync(5000)
    expect(wrapper.find('[data-test="training-progress"]').exists()).toBe(false)
    expect(notificationReads()).toBe(1) // its artist's badge learns of the outcome at once
    const reads = fetch.requests.filter((r) => r.path === '/api/v1/styles/9').length
    await vi.advanceTimersByTimeAsync(20000)
    expect(fetch.requests.filter((r) => r.path === '/api/v1/styles/9')).toHaveLength(reads)
    vi.useRealTimers()
  })

  it('gives its artist the samples, the error, edit and retrain', async () => {
    const failed = style({ training_status: 'failed', training_error: 'out of memory', training_image_count: 12, sample_image_urls: ['/media/s1.png'] })
    fakeApi({ 'GET /api/v1/auth/me': ok(artistUser), ...CSRF, 'GET /api/v1/styles/9': ok(failed), 'POST /api/v1/styles/9/retrain': ok(style({ training_status: 'pending' })) })
    const { wrapper } = await mountApp(Host, { url: '/styles/9' })
    const panel = wrapper.get('[data-test="artist-panel"]')
    expect(panel.text()).toContain('12 training images')
    expect(panel.text()).toContain('What went wrong: out of memory')
    expect(panel.findAll('img')).toHaveLength(1)
    await panel.findAll('button').find((b) => b.text() === 'Train again').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test="training-status"]').text()).toContain('Waiting to train')
  })

  it('lets its artist cancel a training run after a second click', async () => {
    const training = style({ training_status: 'training', progress: { current_epoch: 2, total_epochs: 10, progress_percent: 20, estimated_seconds: 480, last_updated: 'x' } })
    const cancelled = style({ training_status: 'failed', training_error: 'cancelled by the artist' })
    const fetch = fakeApi({ 'GET /api/v1/auth/me': ok(artistUser), ...CSRF, 'GET /api/v1/styles/9': ok(training), 'POST /api/v1/styles/9/training/cancel': ok(cancelled) })
    const { wrapper } = await mountApp(Host, { url: '/styles/9' })
    const button = (text) => wrapper.get('[data-test="artist-panel"]').findAll('button').find((b) => b.text() === text)
    await button('Cancel training').trigger('click')
    expect(wrapper.get('[data-test="cancel-confirm"]').text()).toContain('Your images stay')
    await button('Keep training').trigger('click')
    expect(wrapper.find('[data-test="cancel-confirm"]').exists()).toBe(false)
    expect(fetch.requests.some((r) => r.method === 'POST')).toBe(false)
    await button('Cancel training').trigger('click')
    await button('Stop training').trigger('click')
    await flushPromises()
    expect(fetch.requests.filter((r) => r.path === '/api/v1/styles/9/training/cancel')).toHaveLength(1)
    expect(wrapper.find('[data-test="training-progress"]').exists()).toBe(false)
    expect(wrapper.get('[data-test="artist-panel"]').text()).toContain('What went wrong: cancelled by the artist')
    expect(button('Train again')).toBeTruthy()
  })

  it('shows its artist each epoch’s scores and samples, and switches the epoch in use', async () => {
    const epochs = (inUse) => [
      { epoch: 1, training_loss: 0.31, heldout_loss: 0.2914, sample_image_urls: ['/media/e1.png'], adapter_kept: false, in_use: false },
      { epoch: 2, training_loss: 0.2222, heldout_loss: 0.28, sample_image_urls: ['/media/e2.png'], adapter_kept: true, in_use: inUse === 2 },
      { epoch: 3, training_loss: 0.2, heldout_loss: null, sample_image_urls: ['/media/e3.png'], adapter_kept: true, in_use: inUse === 3 }]
    const trained = (inUse) => style({ training_scores: { base_heldout_loss: 0.3012, best_epoch: 2, epochs: epochs(inUse) } })
    const fetch = fakeApi({ 'GET /api/v1/auth/me': ok(artistUser), ...CSRF, 'GET /api/v1/styles/9': ok(trained(2)), 'PATCH /api/v1/styles/9': ok(trained(3)) })
    const { wrapper } = await mountApp(Host, { url: '/styles/9' })
    const scores = wrapper.get('[data-test="training-scores"]')
    expect(scores.text()).toContain('The base model alone scores 0.301.')
    expect(scores.text()).toContain('epoch 2, the best by this score')
    const cells = () => scores.findAll('tbody tr').map((row) => row.findAll('td').map((cell) => cell.text()))
    expect(cells()).toEqual([['1', '0.310', '0.291', '', 'Not kept'], ['2', '0.222', '0.280', '', 'In use'], ['3', '0.200', '—', '', 'Use this epoch']])
    expect(scores.get('[data-test="epoch-2"] img').attributes('src')).toBe('/media/e2.png')
    await scores.get('[data-test="epoch-3"] button').trigger('click')
    await flushPromises()
    expect(fetch.requests.find((r) => r.method === 'PATCH').json).toEqual({ epoch: 3 })
    expect(cells().map((row) => row[4])).toEqual(['Not kept', 'Use this epoch', 'In use'])
  })

  it('has a not-found state', async () => {
    fakeApi({ 'GET /api/v1/auth/me': fail(401, 'UNAUTHORIZED'), 'GET /api/v1/styles/404': fail(404, 'NOT_FOUND') })
    const { wrapper } = await mountApp(Host, { url: '/styles/404' })
    expect(wrapper.get('h1').text()).toBe('This style does not exist')
  })
})

describe('create and edit style pages', () => {
  it('are for artists only', async () => {
    fakeApi({ 'GET /api/v1/auth/me': ok(me()) })
    const { router } = await mountApp(Host, { url: '/styles/new' })
    expect(router.currentRoute.value.name).toBe('edit-profile')
    expect(router.currentRoute.value.hash).toBe('#become-artist')
  })

  it('checks the form and images, uploads with progress, then shows the style', async () => {
    vi.stubGlobal('createImageBitmap', async () => ({ width: 1024, height: 768, close() {} }))
    fakeApi({ 'GET /api/v1/auth/me': ok(artistUser), 'GET /api/v1/styles/9': ok(style({ training_status: 'pending' })) })
    const { api } = await import('@/api/index.js')
    const upload = vi.spyOn(api, 'upload').mockImplementation(async (path, { onProgress }) => {
      onProgress(0.4)
      return style({ training_status: 'pending' })
    })
    const { wrapper, router } = await mountApp(Host, { url: '/styles/new' })
    const submit = () => wrapper.get('[data-test="create-style-submit"]')
    await wrapper.get('#new-style-title').setValue('수채화')
    expect(wrapper.text()).toContain('Use English letters')
    await wrapper.get('#new-style-title').setValue('Ink Harbour')
    const input = wrapper.get('#training-files')
    Object.defineProperty(input.element, 'files', { value: Array.from({ length: 10 }, (_, i) => png(`${i}.png`)), configurable: true })
    await input.trigger('change')
    await flushPromises()
    expect(wrapper.get('[data-test="image-count"]').text()).toBe('10 of 10–100 images')
    const shared = wrapper.get('#shared-tags')
    await shared.setValue('boats')
    await shared.trigger('keydown', { key: 'Enter' })
    const first = wrapper.get('[data-test="training-images"] li input')
    await first.setValue('lanterns')
    await first.trigger('keydown', { key: 'Enter' })
    expect(submit().attributes('disabled')).toBeUndefined()
    await wrapper.get('[data-test="create-style-form"]').trigger('submit')
    await flushPromises()
    const sent = upload.mock.calls[0][1].form
    expect(JSON.parse(sent.get('tags'))[0]).toEqual(['boats', 'lanterns'])
    expect(JSON.parse(sent.get('tags'))[1]).toEqual(['boats'])
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe('/styles/9'))
  })

  it('shows the server’s refusal', async () => {
    vi.stubGlobal('createImageBitmap', async () => ({ width: 1024, height: 1024 }))
    fakeApi({ 'GET /api/v1/auth/me': ok(artistUser) })
    const { api } = await import('@/api/index.js')
    const { ApiError } = await import('@/api/client.js')
    vi.spyOn(api, 'upload').mockRejectedValue(new ApiError({ status: 403, code: 'STYLE_LIMIT_REACHED', message: 'You already have a style.' }))
    const { wrapper } = await mountApp(Host, { url: '/styles/new' })
    await wrapper.get('#new-style-title').setValue('ink')
    const input = wrapper.get('#training-files')
    Object.defineProperty(input.element, 'files', { value: Array.from({ length: 10 }, (_, i) => png(`${i}.png`)), configurable: true })
    await input.trigger('change')
    await flushPromises()
    await wrapper.get('[data-test="create-style-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[role="alert"]').text()).toBe('You already have a style.')
  })

  it('edits only what changed', async () => {
    const fetch = fakeApi({ 'GET /api/v1/auth/me': ok(artistUser), ...CSRF, 'GET /api/v1/styles/9': ok(style()), 'PATCH /api/v1/styles/9': (r) => ok(style(r.json)) })
    const { wrapper } = await mountApp(Host, { url: '/styles/9/edit' })
    await wrapper.get('#style-price').setValue('45')
    await wrapper.get('[data-test="style-edit-form"]').trigger('submit')
    await flushPromises()
    expect(fetch.requests.find((r) => r.method === 'PATCH').json).toEqual({ generation_cost_tokens: 45 })
    expect(wrapper.text()).toContain('Style saved.')
  })
})

describe('styles elsewhere', () => {
  it('my page shows an artist’s style, or the way to create one', async () => {
    fakeApi({
      'GET /api/v1/auth/me': ok(artistUser),
      'GET /api/v1/users/3': ok(publicProfile({ id: 3 })),
      'GET /api/v1/tokens/balance': ok({ token_balance: 100, earned_token_balance: 0 }),
      'GET /api/v1/styles/me': ok([style({ training_status: 'training', progress: null })]),
    })
    const { wrapper } = await mountApp(Host, { url: '/me' })
    expect(wrapper.get('[data-test="my-style"]').text()).toContain('ink harbour')
    expect(wrapper.get('[data-test="my-style"]').text()).toContain('Training')
  })

  it('the search page lists all styles, recent or popular', async () => {
    const fetch = fakeApi({
      'GET /api/v1/auth/me': fail(401, 'UNAUTHORIZED'),
      'GET /api/v1/styles': (r) => page([style({ title: r.query.sort === 'popular' ? 'most used' : 'newest' })]),
    })
    const { wrapper } = await mountApp(Host, { url: '/search' })
    expect(wrapper.get('[data-test="all-styles"]').text()).toContain('newest')
    await wrapper.findAll('[data-test="all-styles"] [role="tab"]').find((b) => b.text() === 'Popular').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test="all-styles"]').text()).toContain('most used')
    expect(fetch.requests.filter((r) => r.path === '/api/v1/styles').map((r) => r.query.sort)).toEqual(['recent', 'popular'])
  })
})
