import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { useAuthStore } from '@/stores/auth.js'
import { useTokensStore } from '@/stores/tokens.js'
import { useUsersStore } from '@/stores/users.js'
import { fail, fakeApi, me, ok, publicProfile } from './helpers.js'

const CSRF = { 'GET /api/v1/auth/csrf': ok({ csrf_token: 'c' }) }

beforeEach(() => setActivePinia(createPinia()))

describe('auth store', () => {
  it('reads the session once for everyone who asks', async () => {
    const fetch = fakeApi({ 'GET /api/v1/auth/me': ok(me({ token_balance: 250 })) })
    const auth = useAuthStore()
    const [a, b] = await Promise.all([auth.ensureLoaded(), auth.ensureLoaded()])
    expect(a.username).toBe('mina')
    expect(b).toBe(a)
    await auth.ensureLoaded()
    expect(fetch.requests).toHaveLength(1)
    expect(auth.isSignedIn).toBe(true)
    expect(useTokensStore().balance).toBe(250)
  })

  it('is signed out on 401, and remembers other failures', async () => {
    fakeApi({ 'GET /api/v1/auth/me': fail(401, 'UNAUTHORIZED') })
    const auth = useAuthStore()
    expect(await auth.ensureLoaded()).toBeNull()
    expect(auth.loaded).toBe(true)
    expect(auth.loadError).toBeNull()

    setActivePinia(createPinia())
    fakeApi({ 'GET /api/v1/auth/me': fail(503, 'SERVICE_UNAVAILABLE') })
    const again = useAuthStore()
    await again.ensureLoaded()
    expect(again.isSignedIn).toBe(false)
    expect(again.loadError.code).toBe('SERVICE_UNAVAILABLE')
  })

  it('signs in for development and out again', async () => {
    const artist = me({ role: 'artist', artist: { artist_name: 'Mina', follower_count: 1, verified_email: 'm@x.io', earned_token_balance: 40, has_signature_image: true } })
    const fetch = fakeApi({
      ...CSRF,
      'POST /api/v1/auth/dev-login': ok({ user: artist, csrf_token: 'signed' }),
      'POST /api/v1/auth/logout': ok(null),
    })
    const auth = useAuthStore()
    await auth.devLogin({ email: 'mina@example.com', username: '' })
    expect(fetch.requests.at(-1).json).toEqual({ email: 'mina@example.com' })
    expect(auth.isArtist).toBe(true)
    expect(useTokensStore().earned).toBe(40)
    await auth.logout()
    expect(fetch.requests.at(-1).headers['X-CSRF-Token']).toBe('signed')
    expect(auth.user).toBeNull()
    expect(useTokensStore().balance).toBeNull()
  })

  it('is signed out locally even when the logout call fails', async () => {
    fakeApi({ ...CSRF, 'POST /api/v1/auth/logout': fail(500, 'INTERNAL_ERROR') })
    const auth = useAuthStore()
    auth.setUser(me())
    await expect(auth.logout()).rejects.toMatchObject({ code: 'INTERNAL_ERROR' })
    expect(auth.isSignedIn).toBe(false)
  })

  it('builds the Google sign-in address with same-site next paths only', () => {
    const auth = useAuthStore()
    expect(auth.googleLoginUrl('/me/edit')).toBe('/api/v1/auth/google/login?next=%2Fme%2Fedit')
    expect(auth.googleLoginUrl('//evil.example')).toBe('/api/v1/auth/google/login')
    expect(auth.googleLoginUrl()).toBe('/api/v1/auth/google/login')
  })

  it('updates the profile, the avatar and becomes an artist', async () => {
    const fetch = fakeApi({
      ...CSRF,
      'PATCH /api/v1/users/me': (request) => ok(me(request.json)),
      'PUT /api/v1/users/me/profile-image': ok(me({ profile_image_url: '/media/p.png' })),
      'DELETE /api/v1/users/me/profile-image': ok(me()),
      'POST /api/v1/users/me/upgrade-to-artist': ok(me({ role: 'artist' })),
    })
    const auth = useAuthStore()
    auth.setUser(me())
    await auth.updateProfile({ bio: 'Hello' })
    expect(auth.user.bio).toBe('Hello')

    const file = new File(['x'], 'a.png', { type: 'image/png' })
    await auth.uploadAvatar(file)
    expect(fetch.requests.at(-1).body.get('image')).toBeInstanceOf(File)
    expect(auth.user.profile_image_url).toBe('/media/p.png')
    await auth.removeAvatar()
    expect(auth.user.profile_image_url).toBeNull()

    await auth.upgradeToArtist({ artistName: '김민아', verifiedEmail: 'm@x.io', signature: file })
    const form = fetch.requests.at(-1).body
    expect([form.get('artist_name'), form.get('verified_email')]).toEqual(['김민아', 'm@x.io'])
    expect(form.get('signature_image')).toBeInstanceOf(File)
    expect(auth.isArtist).toBe(true)
  })

  it('saves the UI language on the account when it changed, quietly', async () => {
    const fetch = fakeApi({ ...CSRF, 'PATCH /api/v1/users/me': fail(500, 'INTERNAL_ERROR') })
    const auth = useAuthStore()
    await auth.savePreferredLanguage('ko') // signed out: nothing to save
    auth.setUser(me({ preferred_language: 'en' }))
    await auth.savePreferredLanguage('en')
    expect(fetch.requests).toHaveLength(0)
    await auth.savePreferredLanguage('ko')
    expect(fetch.requests.at(-1).json).toEqual({ preferred_language: 'ko' })
  })
})

describe('tokens store', () => {
  const checkout = {
    purchase: { id: 1, package_id: 'basic_100', order_id: 'sl_1', tokens: 100, amount: '10000', currency: 'KRW', status: 'pending', created_at: 'x', paid_at: null },
    clientKey: 'ck', customerKey: 'cus', orderId: 'sl_1', orderName: '100 tokens', amount: '10000', currency: 'KRW',
    successUrl: 'http://x/payments/success', failUrl: 'http://x/payments/fail', checkoutUrl: 'http://x/_dev/toss/checkout',
  }

  it('loads packages and the balance', async () => {
    fakeApi({
      'GET /api/v1/tokens/packages': ok([{ id: 'basic_100', tokens: 100, price: 10000, currency: 'KRW' }]),
      'GET /api/v1/tokens/balance': ok({ token_balance: 5, earned_token_balance: null }),
    })
    const tokens = useTokensStore()
    await tokens.loadPackages()
    expect(tokens.packages[0].price).toBe('10000')
    await tokens.refreshBalance()
    expect(tokens.balance).toBe(5)
  })

  it('starts a purchase with a new idempotency key each time', async () => {
    const fetch = fakeApi({ ...CSRF, 'POST /api/v1/tokens/purchase': ok(checkout, 201) })
    const tokens = useTokensStore()
    expect((await tokens.startPurchase('basic_100')).checkoutUrl).toContain('/_dev/toss/')
    await tokens.startPurchase('basic_100')
    const [first, second] = fetch.requests.filter((r) => r.path === '/api/v1/tokens/purchase')
    expect(first.json).toEqual({ package_id: 'basic_100' })
    expect(first.headers['Idempotency-Key']).not.toBe(second.headers['Idempotency-Key'])
  })

  it('confirms a payment with the redirect’s values, then refreshes the balance', async () => {
    const fetch = fakeApi({
      ...CSRF,
      'POST /api/v1/tokens/purchase/confirm': ok({ ...checkout.purchase, status: 'paid' }),
      'GET /api/v1/tokens/balance': ok({ token_balance: 200, earned_token_balance: null }),
    })
    const tokens = useTokensStore()
    const purchase = await tokens.confirmPurchase({ paymentKey: 'pk', orderId: 'sl_1', amount: '10000' })
    expect(purchase.status).toBe('paid')
    const confirm = fetch.requests.find((r) => r.path.endsWith('/confirm'))
    expect(confirm.json).toEqual({ paymentKey: 'pk', orderId: 'sl_1', amount: '10000' })
    expect(confirm.headers['Idempotency-Key']).toBe('confirm-sl_1')
    expect(tokens.balance).toBe(200)
  })

  it('reads the history a page at a time', async () => {
    const fetch = fakeApi({ 'GET /api/v1/tokens/transactions': ok({ results: [], next_cursor: null, has_more: false }) })
    await useTokensStore().transactionsPage('usage', 'abc')
    expect(fetch.requests[0].query).toEqual({ type: 'usage', cursor: 'abc', limit: '20' })
  })
})

describe('users store', () => {
  it('keeps profiles it has read, unless asked for a fresh one', async () => {
    const fetch = fakeApi({ 'GET /api/v1/users/7': ok(publicProfile()) })
    const users = useUsersStore()
    await users.fetchProfile(7)
    await users.fetchProfile(7)
    expect(users.cached(7).username).toBe('mina')
    expect(users.cached(8)).toBeNull()
    await users.fetchProfile(7, { force: true })
    expect(fetch.requests).toHaveLength(2)
  })
})
