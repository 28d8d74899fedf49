import { describe, expect, it, vi } from 'vitest'
import { Host, fail, fakeApi, flushPromises, me, mountApp, ok, publicProfile } from './helpers.js'

const CSRF = { 'GET /api/v1/auth/csrf': ok({ csrf_token: 'c' }) }
const signedOut = { 'GET /api/v1/auth/me': fail(401, 'UNAUTHORIZED') }
const signedIn = (user = me()) => ({ 'GET /api/v1/auth/me': ok(user) })
const PACKAGES = [
  { id: 'basic_100', tokens: 100, price: '10000', currency: 'KRW' },
  { id: 'standard_500', tokens: 500, price: '45000', currency: 'KRW' },
  { id: 'premium_1000', tokens: 1000, price: '80000', currency: 'KRW' },
]
const EMPTY_PAGE = ok({ results: [], next_cursor: null, has_more: false })
const purchase = { id: 1, package_id: 'basic_100', order_id: 'sl_1', tokens: 100, amount: '10000', currency: 'KRW', status: 'paid', created_at: 'x', paid_at: 'y' }

describe('home and not found', () => {
  it('home invites visitors to sign in', async () => {
    fakeApi(signedOut)
    const { wrapper } = await mountApp(Host, { url: '/' })
    expect(wrapper.text()).toContain('Art styles, licensed by the artists who made them')
    expect(wrapper.get('a.btn-primary').attributes('href')).toBe('/sign-in')
  })

  it('unknown paths get the not-found page, in the URL’s language', async () => {
    fakeApi(signedOut)
    const { wrapper } = await mountApp(Host, { url: '/ko/nowhere', locale: 'ko' })
    expect(wrapper.get('h1').text()).toBe('페이지를 찾을 수 없습니다')
  })
})

describe('sign-in page', () => {
  it('signs in for development and goes where the visitor was going', async () => {
    const fetch = fakeApi({ ...signedOut, ...CSRF, 'POST /api/v1/auth/dev-login': ok({ user: me(), csrf_token: 'c2' }), 'GET /api/v1/tokens/packages': ok(PACKAGES) })
    const { wrapper, router } = await mountApp(Host, { url: '/sign-in?next=/tokens' })
    expect(wrapper.get('[data-test="google-sign-in"]').attributes('href')).toBe('/api/v1/auth/google/login?next=%2Ftokens')
    await wrapper.get('#dev-email').setValue(' mina@example.com ')
    await wrapper.get('#dev-username').setValue('mina')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(fetch.requests.find((r) => r.path === '/api/v1/auth/dev-login').json).toEqual({ email: 'mina@example.com', username: 'mina' })
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe('/tokens'))
  })

  it('shows the API’s message when sign-in is refused', async () => {
    fakeApi({ ...signedOut, ...CSRF, 'POST /api/v1/auth/dev-login': fail(409, 'USERNAME_TAKEN', 'That username is taken.') })
    const { wrapper } = await mountApp(Host, { url: '/sign-in' })
    await wrapper.get('#dev-email').setValue('mina@example.com')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[role="alert"]').text()).toBe('That username is taken.')
  })

  it('hides what the server does not offer', async () => {
    fakeApi(signedOut)
    const meta = Object.assign(document.createElement('meta'), { name: 'sl-config', content: '{"devSignIn":false,"googleSignIn":true}' })
    document.head.append(meta)
    const { wrapper } = await mountApp(Host, { url: '/sign-in' })
    expect(wrapper.find('form').exists()).toBe(false)
    expect(wrapper.find('[data-test="google-sign-in"]').exists()).toBe(true)
    meta.remove()
  })
})

describe('my page', () => {
  it('shows the profile, counts, balance and the way to become an artist', async () => {
    fakeApi({ ...signedIn(me({ bio: 'Hi' })), 'GET /api/v1/users/7': ok(publicProfile()), 'GET /api/v1/tokens/balance': ok({ token_balance: 120, earned_token_balance: null }) })
    const { wrapper } = await mountApp(Host, { url: '/me' })
    expect(wrapper.get('[data-test="my-username"]').text()).toBe('mina')
    expect(wrapper.get('[data-test="my-bio"]').text()).toBe('Hi')
    expect(wrapper.get('[data-test="my-balance"]').text()).toContain('120')
    expect(wrapper.text()).toContain('Followers')
    expect(wrapper.text()).toContain('Become an artist')
  })

  it('shows an artist their artist card and earnings', async () => {
    const artist = me({ role: 'artist', artist: { artist_name: '김민아', follower_count: 2, verified_email: 'm@x.io', earned_token_balance: 30, has_signature_image: true } })
    fakeApi({ ...signedIn(artist), 'GET /api/v1/users/7': ok(publicProfile()), 'GET /api/v1/tokens/balance': ok({ token_balance: 100, earned_token_balance: 30 }) })
    const { wrapper } = await mountApp(Host, { url: '/me', locale: 'ko' })
    expect(wrapper.text()).toContain('김민아')
    expect(wrapper.text()).toContain('팔로워 2명')
    expect(wrapper.text()).toContain('내 화풍으로 얻은 수익')
  })
})

describe('edit profile page', () => {
  it('sends only what changed', async () => {
    const fetch = fakeApi({ ...signedIn(), ...CSRF, 'PATCH /api/v1/users/me': (r) => ok(me(r.json)) })
    const { wrapper } = await mountApp(Host, { url: '/me/edit' })
    await wrapper.get('#bio').setValue('New bio')
    await wrapper.get('form[data-test="profile-form"]').trigger('submit')
    await flushPromises()
    expect(fetch.requests.find((r) => r.method === 'PATCH').json).toEqual({ bio: 'New bio' })
    expect(wrapper.text()).toContain('Profile saved.')
  })

  it('marks the field a validation error names', async () => {
    fakeApi({
      ...signedIn(),
      ...CSRF,
      'PATCH /api/v1/users/me': fail(422, 'VALIDATION_ERROR', 'Some fields are not valid.', { errors: [{ loc: ['body', 'username'], message: 'x' }] }),
    })
    const { wrapper } = await mountApp(Host, { url: '/me/edit' })
    await wrapper.get('#username').setValue('bad name')
    await wrapper.get('form[data-test="profile-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('#username').attributes('aria-invalid')).toBe('true')
    expect(wrapper.get('form[data-test="profile-form"] [role="alert"]').text()).toBe('Some fields are not valid.')
  })

  it('uploads an avatar, refuses a wrong file, removes it', async () => {
    const fetch = fakeApi({
      ...signedIn(),
      ...CSRF,
      'PUT /api/v1/users/me/profile-image': ok(me({ profile_image_url: '/media/a.png' })),
      'DELETE /api/v1/users/me/profile-image': ok(me()),
    })
    const { wrapper } = await mountApp(Host, { url: '/me/edit' })
    const choose = async (file) => {
      const input = wrapper.get('#avatar-file')
      Object.defineProperty(input.element, 'files', { value: [file], configurable: true })
      await input.trigger('change')
      await flushPromises()
    }
    await choose(new File(['x'], 'a.gif', { type: 'image/gif' }))
    expect(wrapper.text()).toContain('Choose a JPG or PNG image.')
    await choose(new File(['x'], 'a.png', { type: 'image/png' }))
    expect(wrapper.text()).toContain('Profile picture updated.')
    await wrapper.findAll('button').find((b) => b.text() === 'Remove picture').trigger('click')
    await flushPromises()
    expect(fetch.requests.map((r) => r.method)).toContain('DELETE')
  })

  it('becomes an artist with a previewed signature', async () => {
    const artist = me({ role: 'artist', artist: { artist_name: '김민아', follower_count: 0, verified_email: 'mina@example.com', earned_token_balance: 0, has_signature_image: true } })
    const fetch = fakeApi({ ...signedIn(), ...CSRF, 'POST /api/v1/users/me/upgrade-to-artist': ok(artist) })
    const { wrapper } = await mountApp(Host, { url: '/me/edit' })
    const submit = () => wrapper.get('form[data-test="artist-form"] button[type="submit"]')
    expect(submit().attributes('disabled')).toBeDefined()
    await wrapper.get('#artist-name').setValue('김민아')
    const input = wrapper.get('#signature-file')
    Object.defineProperty(input.element, 'files', { value: [new File(['x'], 's.png', { type: 'image/png' })], configurable: true })
    await input.trigger('change')
    expect(wrapper.get('[data-test="signature-preview"] img').attributes('src')).toMatch(/^blob:/)
    await wrapper.get('form[data-test="artist-form"]').trigger('submit')
    await flushPromises()
    expect(fetch.requests.find((r) => r.path.endsWith('upgrade-to-artist')).body.get('verified_email')).toBe('mina@example.com')
    expect(wrapper.text()).toContain('You are now an artist.')
  })
})

describe('tokens page', () => {
  it('shows packages with a sign-in button to visitors', async () => {
    fakeApi({ ...signedOut, 'GET /api/v1/tokens/packages': ok(PACKAGES) })
    const { wrapper } = await mountApp(Host, { url: '/tokens' })
    expect(wrapper.findAll('article')).toHaveLength(3)
    expect(wrapper.get('[data-test="package-premium_1000"]').text()).toContain('Best value')
    expect(wrapper.get('[data-test="package-basic_100"]').text()).toContain('Sign in to buy tokens')
    expect(wrapper.find('#history').exists()).toBe(false)
  })

  it('shows an error with a retry when packages cannot be read', async () => {
    let calls = 0
    fakeApi({ ...signedOut, 'GET /api/v1/tokens/packages': () => (++calls === 1 ? fail(503, 'SERVICE_UNAVAILABLE', 'Down.') : ok(PACKAGES)) })
    const { wrapper } = await mountApp(Host, { url: '/tokens' })
    expect(wrapper.get('[role="alert"]').text()).toContain('Down.')
    await wrapper.get('[role="alert"] button').trigger('click')
    await flushPromises()
    expect(wrapper.findAll('article')).toHaveLength(3)
  })

  it('sends the buyer to the dev checkout, lists the history and filters it', async () => {
    const assign = vi.fn()
    vi.stubGlobal('location', { ...window.location, assign })
    const entry = { id: 1, kind: 'welcome_bonus', amount: 100, balance: 'tokens', status: 'completed', memo: 'Welcome Bonus', related_generation_id: null, related_purchase_id: null, created_at: '2026-11-27T10:00:00Z' }
    const fetch = fakeApi({
      ...signedIn(),
      ...CSRF,
      'GET /api/v1/tokens/packages': ok(PACKAGES),
      'GET /api/v1/tokens/balance': ok({ token_balance: 100, earned_token_balance: null }),
      'GET /api/v1/tokens/transactions': (r) => (r.query.type === 'all' ? ok({ results: [entry], next_cursor: null, has_more: false }) : EMPTY_PAGE),
      'POST /api/v1/tokens/purchase': ok({ purchase: { ...purchase, status: 'pending' }, clientKey: 'ck', customerKey: 'cus', orderId: 'sl_1', orderName: 'n', amount: '10000', currency: 'KRW', successUrl: 's', failUrl: 'f', checkoutUrl: '/_dev/toss/checkout?x=1' }, 201),
    })
    const { wrapper } = await mountApp(Host, { url: '/tokens' })
    expect(wrapper.get('[data-test="transactions"]').text()).toContain('Welcome bonus')
    expect(wrapper.get('[data-test="transactions"]').text()).toContain('+100')
    await wrapper.findAll('[role="tab"]').find((tab) => tab.text() === 'Usage').trigger('click')
    await flushPromises()
    expect(wrapper.text()).toContain('Nothing here yet')
    expect(fetch.requests.at(-1).query.type).toBe('usage')
    await wrapper.get('[data-test="package-basic_100"] button').trigger('click')
    await flushPromises()
    expect(assign).toHaveBeenCalledWith('/_dev/toss/checkout?x=1')
  })

  it('shows a purchase that could not start', async () => {
    fakeApi({
      ...signedIn(),
      ...CSRF,
      'GET /api/v1/tokens/packages': ok(PACKAGES),
      'GET /api/v1/tokens/balance': ok({ token_balance: 100, earned_token_balance: null }),
      'GET /api/v1/tokens/transactions': EMPTY_PAGE,
      'POST /api/v1/tokens/purchase': fail(429, 'RATE_LIMITED', 'Too many requests.'),
    })
    const { wrapper } = await mountApp(Host, { url: '/tokens' })
    await wrapper.get('[data-test="package-basic_100"] button').trigger('click')
    await flushPromises()
    expect(wrapper.text()).toContain('Too many requests.')
  })
})

describe('payment result pages', () => {
  it('confirms the payment from the redirect and shows the new balance', async () => {
    const fetch = fakeApi({
      ...signedIn(),
      ...CSRF,
      'POST /api/v1/tokens/purchase/confirm': ok(purchase),
      'GET /api/v1/tokens/balance': ok({ token_balance: 200, earned_token_balance: null }),
    })
    const { wrapper } = await mountApp(Host, { url: '/payments/success?paymentKey=pk&orderId=sl_1&amount=10000&paymentType=NORMAL' })
    expect(fetch.requests.find((r) => r.path.endsWith('/confirm')).json).toEqual({ paymentKey: 'pk', orderId: 'sl_1', amount: '10000' })
    expect(wrapper.get('[data-test="payment-success"]').text()).toContain('100 tokens were added to your balance.')
    expect(wrapper.get('[data-test="payment-new-balance"]').text()).toBe('Your balance is now 200.')
  })

  it('says so when the payment was declined, and can try again', async () => {
    fakeApi({ ...signedIn(), ...CSRF, 'POST /api/v1/tokens/purchase/confirm': fail(402, 'PAYMENT_FAILED', 'The payment failed.') })
    const { wrapper } = await mountApp(Host, { url: '/payments/success?paymentKey=pk&orderId=sl_1&amount=10000' })
    expect(wrapper.text()).toContain('Payment not completed')
    expect(wrapper.text()).toContain('The payment failed.')
  })

  it('explains a success page reached without payment details', async () => {
    fakeApi(signedIn())
    const { wrapper } = await mountApp(Host, { url: '/payments/success' })
    expect(wrapper.text()).toContain('This page needs the payment details')
  })

  it('fail page: cancelled or failed with a code', async () => {
    fakeApi(signedOut)
    const { wrapper, router } = await mountApp(Host, { url: '/payments/fail?code=PAY_PROCESS_CANCELED' })
    expect(wrapper.get('[data-test="payment-fail"]').text()).toContain('You cancelled the payment.')
    await router.push('/payments/fail?code=REJECT_CARD_PAYMENT')
    await flushPromises()
    expect(wrapper.text()).toContain('Code: REJECT_CARD_PAYMENT')
  })
})

describe('verify page', () => {
  const verification = {
    proof: 'content_credentials',
    artist: { id: 3, name: '김민아' },
    style: { id: 4, title: 'Watercolour Garden' },
    generation: { id: 5, created_at: '2026-11-27T10:00:00Z' },
    content_credentials: { state: 'trusted', signer: 'Style License', failures: [] },
    watermark_generation_id: 5,
    metadata: { artist_name: '김민아', style_title: 'Watercolour Garden', generation_id: 5, platform: 'Style License', created_at: null },
  }

  async function upload(wrapper, file) {
    const input = wrapper.get('#verify-file')
    Object.defineProperty(input.element, 'files', { value: [file], configurable: true })
    await input.trigger('change')
    await flushPromises()
  }

  it('shows where a signed image comes from', async () => {
    const fetch = fakeApi({ ...signedOut, ...CSRF, 'POST /api/v1/verify': ok(verification) })
    const { wrapper } = await mountApp(Host, { url: '/verify' })
    await upload(wrapper, new File(['x'], 'a.png', { type: 'image/png' }))
    await wrapper.get('[data-test="verify-submit"]').trigger('click')
    await flushPromises()
    expect(fetch.requests.at(-1).body.get('image')).toBeInstanceOf(File)
    const result = wrapper.get('[data-test="verify-result"]').text()
    expect(result).toContain('Generated on Style License')
    expect(result).toContain('김민아')
    expect(result).toContain('Valid, signed by Style License')
    expect(result).toContain('Found (generation #5)')
  })

  it('says when nothing proves an origin, and when the upload is refused', async () => {
    let answer = ok({ ...verification, proof: null, artist: null, style: null, generation: null, content_credentials: { state: 'absent', signer: null, failures: [] }, watermark_generation_id: null, metadata: null })
    fakeApi({ ...signedOut, ...CSRF, 'POST /api/v1/verify': () => answer })
    const { wrapper } = await mountApp(Host, { url: '/verify', locale: 'ko' })
    await upload(wrapper, new File(['x'], 'a.jpg', { type: 'image/jpeg' }))
    await wrapper.get('[data-test="verify-submit"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test="verify-result"]').text()).toContain('출처를 증명할 정보가 없습니다')
    expect(wrapper.text()).toContain('메타데이터 없음')
    await wrapper.findAll('button').find((b) => b.text() === '다른 이미지 확인').trigger('click')
    await flushPromises()
    answer = fail(422, 'INVALID_IMAGE_FORMAT', '이미지 형식이 올바르지 않습니다.')
    await upload(wrapper, new File(['x'], 'a.png', { type: 'image/png' }))
    await wrapper.get('[data-test="verify-submit"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[role="alert"]').text()).toBe('이미지 형식이 올바르지 않습니다.')
  })
})

describe('public profile page', () => {
  it('shows an artist’s profile and style', async () => {
    const profile = publicProfile({ artist: { artist_name: '김민아', follower_count: 5 }, stats: { public_generations: 3, followers: 5, following: 2, style: { id: 1, title: 'Garden', training_status: 'completed' } } })
    fakeApi({ ...signedOut, 'GET /api/v1/users/7': ok(profile) })
    const { wrapper } = await mountApp(Host, { url: '/users/7' })
    expect(wrapper.get('h1').text()).toBe('김민아')
    expect(wrapper.text()).toContain('@mina')
    expect(wrapper.text()).toContain('Garden')
    expect(wrapper.text()).toContain('Ready')
  })

  it('has a not-found state and an error state', async () => {
    fakeApi({ ...signedOut, 'GET /api/v1/users/8': fail(404, 'NOT_FOUND'), 'GET /api/v1/users/9': fail(500, 'INTERNAL_ERROR', 'Oops.') })
    const { wrapper, router } = await mountApp(Host, { url: '/users/8' })
    expect(wrapper.get('h1').text()).toBe('This profile does not exist')
    await router.push('/users/9')
    await flushPromises()
    expect(wrapper.get('[role="alert"]').text()).toContain('Oops.')
  })
})
