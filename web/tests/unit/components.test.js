import { describe, expect, it, vi } from 'vitest'
import App from '@/App.vue'
import { ApiError } from '@/api/client.js'
import AppHeader from '@/components/AppHeader.vue'
import ErrorState from '@/components/ErrorState.vue'
import ImagePicker from '@/components/ImagePicker.vue'
import LanguageSwitch from '@/components/LanguageSwitch.vue'
import SignaturePreview from '@/components/SignaturePreview.vue'
import TossPaymentWidget from '@/components/TossPaymentWidget.vue'
import UserAvatar from '@/components/UserAvatar.vue'
import { LOCALE_STORAGE_KEY } from '@/i18n/index.js'
import { fail, fakeApi, flushPromises, me, mountApp, ok } from './helpers.js'

const signedOut = { 'GET /api/v1/auth/me': fail(401, 'UNAUTHORIZED') }

describe('LanguageSwitch', () => {
  it('switches the language, remembers it and keeps a prefixed URL in the new language', async () => {
    const fetch = fakeApi({
      'GET /api/v1/auth/me': ok(me()),
      'GET /api/v1/auth/csrf': ok({ csrf_token: 'c' }),
      'PATCH /api/v1/users/me': ok(me({ preferred_language: 'ko' })),
    })
    const { wrapper, router, i18n } = await mountApp(LanguageSwitch, { url: '/en/verify' })
    await wrapper.get('[data-test="lang-ko"]').trigger('click')
    await flushPromises()
    expect(i18n.global.locale.value).toBe('ko')
    expect(localStorage.getItem(LOCALE_STORAGE_KEY)).toBe('ko')
    expect(router.currentRoute.value.fullPath).toBe('/ko/verify')
    expect(wrapper.get('[data-test="lang-ko"]').attributes('aria-pressed')).toBe('true')
    expect(fetch.requests.some((r) => r.method === 'PATCH' && r.json.preferred_language === 'ko')).toBe(true)
  })

  it('leaves an unprefixed URL as it is', async () => {
    fakeApi(signedOut)
    const { wrapper, router } = await mountApp(LanguageSwitch, { url: '/verify' })
    await wrapper.get('[data-test="lang-ko"]').trigger('click')
    await wrapper.get('[data-test="lang-ko"]').trigger('click') // already chosen: nothing happens
    await flushPromises()
    expect(router.currentRoute.value.fullPath).toBe('/verify')
  })
})

describe('AppHeader', () => {
  it('offers sign-in to visitors', async () => {
    fakeApi(signedOut)
    const { wrapper } = await mountApp(AppHeader)
    expect(wrapper.get('[data-test="header-sign-in"]').text()).toBe('Sign in')
    expect(wrapper.find('[data-test="header-balance"]').exists()).toBe(false)
  })

  it('shows the balance, the avatar and signs out', async () => {
    fakeApi({
      'GET /api/v1/auth/me': ok(me({ token_balance: 1234 })),
      'GET /api/v1/auth/csrf': ok({ csrf_token: 'c' }),
      'POST /api/v1/auth/logout': ok(null),
    })
    const { wrapper, router } = await mountApp(AppHeader, { url: '/tokens', locale: 'ko' })
    expect(wrapper.get('[data-test="header-balance"]').text()).toBe('1,234')
    expect(wrapper.get('[data-test="header-balance"]').attributes('aria-label')).toBe('토큰 잔액: 1,234')
    await wrapper.get('button[aria-controls="mobile-menu"]').trigger('click')
    expect(wrapper.get('#mobile-menu').text()).toContain('마이페이지')
    await wrapper.get('[data-test="sign-out"]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-test="header-sign-in"]').exists()).toBe(true)
    expect(router.currentRoute.value.name).toBe('home')
  })
})

describe('App', () => {
  it('renders the layout around the page', async () => {
    fakeApi(signedOut)
    const { wrapper } = await mountApp(App, { url: '/ko' })
    expect(wrapper.find('header').exists()).toBe(true)
    expect(wrapper.get('main#main').text()).toContain('작가가 직접 라이선스하는 화풍')
    expect(wrapper.get('footer').text()).toContain('© Style License')
  })
})

describe('small components', () => {
  it('ErrorState shows the message, the request id, and asks for a retry', async () => {
    fakeApi(signedOut)
    const error = new ApiError({ status: 500, code: 'INTERNAL_ERROR', message: 'Boom.', requestId: 'r-9' })
    const { wrapper } = await mountApp(ErrorState, { props: { error } })
    expect(wrapper.text()).toContain('Boom.')
    expect(wrapper.text()).toContain('Reference: r-9')
    await wrapper.get('button').trigger('click')
    expect(wrapper.emitted('retry')).toHaveLength(1)
  })

  it('ImagePicker reports a chosen or dropped file', async () => {
    fakeApi(signedOut)
    const { wrapper } = await mountApp(ImagePicker, { props: { inputId: 'f' } })
    const file = new File(['x'], 'a.png', { type: 'image/png' })
    const input = wrapper.get('input[type="file"]')
    Object.defineProperty(input.element, 'files', { value: [file], configurable: true })
    await input.trigger('change')
    await wrapper.trigger('drop', { dataTransfer: { files: [file] } })
    expect(wrapper.emitted('select')).toEqual([[file], [file]])
  })

  it('UserAvatar falls back to an initial', async () => {
    fakeApi(signedOut)
    const { wrapper } = await mountApp(UserAvatar, { props: { name: 'mina' } })
    expect(wrapper.text()).toBe('M')
    await wrapper.setProps({ src: '/media/a.png' })
    expect(wrapper.get('img').attributes('src')).toBe('/media/a.png')
  })

  it('SignaturePreview shows the signature image, or the name the server would write', async () => {
    fakeApi(signedOut)
    const { wrapper } = await mountApp(SignaturePreview, { props: { name: '김민아' } })
    expect(wrapper.text()).toBe('김민아')
    await wrapper.setProps({ src: 'blob:sig' })
    expect(wrapper.get('img').attributes('src')).toBe('blob:sig')
  })
})

describe('TossPaymentWidget', () => {
  const checkout = {
    clientKey: 'live_ck', customerKey: 'cus_1', orderId: 'sl_1', orderName: 'Style License 100 tokens', amount: '10000',
    currency: 'KRW', successUrl: 'https://x/payments/success', failUrl: 'https://x/payments/fail', checkoutUrl: null,
  }

  it('renders the Toss widget for the order and requests the payment', async () => {
    fakeApi(signedOut)
    const widgets = {
      setAmount: vi.fn(async () => {}),
      renderPaymentMethods: vi.fn(async () => {}),
      renderAgreement: vi.fn(async () => {}),
      requestPayment: vi.fn(async () => {}),
    }
    const TossPayments = vi.fn(() => ({ widgets: vi.fn(() => widgets) }))
    vi.stubGlobal('TossPayments', TossPayments)
    const { wrapper } = await mountApp(TossPaymentWidget, { props: { checkout } })
    expect(TossPayments).toHaveBeenCalledWith('live_ck')
    expect(widgets.setAmount).toHaveBeenCalledWith({ currency: 'KRW', value: 10000 })
    await wrapper.get('button').trigger('click')
    expect(widgets.requestPayment).toHaveBeenCalledWith({
      orderId: 'sl_1', orderName: 'Style License 100 tokens', successUrl: checkout.successUrl, failUrl: checkout.failUrl,
    })
    expect(wrapper.get('button').text()).toBe('Pay ₩10,000')
  })

  it('says so when the widget cannot load', async () => {
    fakeApi(signedOut)
    vi.stubGlobal('TossPayments', () => {
      throw new Error('blocked')
    })
    const { wrapper } = await mountApp(TossPaymentWidget, { props: { checkout } })
    expect(wrapper.text()).toContain('The payment window could not be loaded.')
  })
})
