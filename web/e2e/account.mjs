// Pages in both languages, the language switch, dev sign-in → My page → Edit profile → artist → public profile.
import { join } from 'node:path'
import { FIXTURES, MOBILE, assert, headerBalance, open, run, switchLanguage } from './lib.mjs'

const EMAIL = 'mina@example.com'

await run('account', async (session) => {
  const page = await session.newPage()

  session.step('signed-out pages under /en and /ko')
  for (const locale of ['en', 'ko']) {
    for (const [name, path] of [['home', ''], ['sign-in', '/sign-in'], ['not-found', '/no-such-page']]) {
      await open(page, `/${locale}${path}`)
      assert.equal(await page.evaluate(() => document.documentElement.lang), locale)
      await session.screenshot(page, `${name}-${locale}`)
    }
  }
  assert.match(await page.locator('h1').innerText(), /페이지를 찾을 수 없습니다/)

  session.step('the last /ko visit is remembered; the switch goes back to English')
  await open(page, '/')
  assert.equal(await page.locator('[data-test="header-sign-in"]').innerText(), '로그인')
  await switchLanguage(page, 'en')
  assert.equal(await page.locator('[data-test="header-sign-in"]').innerText(), 'Sign in')
  await page.reload()
  await page.locator('[data-test="header-sign-in"]').waitFor()
  assert.equal(await page.locator('[data-test="header-sign-in"]').innerText(), 'Sign in')

  session.step('a signed-in page sends visitors to sign in, and back after')
  await open(page, '/me/edit')
  await page.waitForURL((url) => url.pathname === '/sign-in' && url.searchParams.get('next') === '/me/edit')
  await page.locator('#dev-email').fill(EMAIL)
  await page.locator('#dev-username').fill('mina_draws')
  await page.locator('form[data-test="dev-sign-in"] button[type="submit"]').click()
  await page.waitForURL(/\/me\/edit$/)
  assert.equal(await headerBalance(page), 100, 'the welcome bonus')

  session.step('edit profile: username and bio')
  await page.locator('#username').fill('mina_paints')
  await page.locator('#bio').fill('Watercolour gardens and quiet streets.')
  await page.locator('form[data-test="profile-form"] button[type="submit"]').click()
  await page.getByText('Profile saved.').waitFor()

  session.step('edit profile: a username that breaks the rules gets the API’s message')
  await page.locator('#username').evaluate((input) => input.removeAttribute('pattern'))
  await page.locator('#username').fill('No Spaces')
  await page.locator('form[data-test="profile-form"] button[type="submit"]').click()
  await page.locator('form[data-test="profile-form"] [role="alert"]').waitFor()
  assert.equal(await page.locator('#username').getAttribute('aria-invalid'), 'true')
  await page.locator('#username').fill('mina_paints')
  await page.locator('form[data-test="profile-form"] button[type="submit"]').click()
  await page.getByText('Profile saved.').waitFor()

  session.step('edit profile: avatar upload, refused file, removal')
  await page.locator('#avatar-file').setInputFiles(join(FIXTURES, 'notes.txt'))
  await page.getByText('Choose a JPG or PNG image.').waitFor()
  await page.locator('#avatar-file').setInputFiles(join(FIXTURES, 'avatar.png'))
  await page.getByText('Profile picture updated.').waitFor()
  const avatar = page.locator('section[aria-labelledby="avatar-title"] img')
  assert.match(await avatar.getAttribute('src'), /\/media\//)
  assert.equal(await avatar.evaluate((img) => img.complete && img.naturalWidth > 0), true, 'the avatar loads')

  session.step('become an artist with a signature preview')
  await page.locator('#artist-name').fill('김민아')
  await page.locator('#signature-file').setInputFiles(join(FIXTURES, 'signature.png'))
  await page.locator('[data-test="signature-preview"] img').waitFor()
  await session.screenshot(page, 'edit-profile-en')
  await page.locator('form[data-test="artist-form"] button[type="submit"]').click()
  await page.getByText('You are now an artist.').waitFor()

  session.step('my page shows the profile, balance and artist card')
  await open(page, '/me')
  assert.equal(await page.locator('[data-test="my-username"]').innerText(), 'mina_paints')
  assert.equal(await page.locator('[data-test="my-bio"]').innerText(), 'Watercolour gardens and quiet streets.')
  assert.match(await page.locator('[data-test="my-balance"]').innerText(), /^100/)
  await page.getByText('김민아').first().waitFor()
  await session.screenshot(page, 'my-page-en')

  session.step('public profile')
  await page.getByRole('link', { name: 'View public profile' }).click()
  await page.locator('[data-test="user-profile"]').waitFor()
  assert.match(await page.locator('[data-test="user-profile"] h1').innerText(), /김민아/)
  await session.screenshot(page, 'user-profile-en')

  session.step('switch to Korean: every signed-in page, and it stays after a reload')
  await switchLanguage(page, 'ko')
  await page.locator('[data-test="user-profile"]').getByText('팔로워').waitFor()
  await session.screenshot(page, 'user-profile-ko')
  await open(page, '/me')
  await page.reload()
  await page.locator('[data-test="my-username"]').waitFor()
  assert.equal(await page.locator('h1').first().innerText(), '마이페이지')
  await session.screenshot(page, 'my-page-ko')
  await open(page, '/me/edit')
  await page.getByText('김민아 작가로 활동 중입니다.').waitFor()
  await session.screenshot(page, 'edit-profile-ko')

  session.step('API errors come in Korean')
  await page.locator('#username').evaluate((input) => input.removeAttribute('pattern'))
  await page.locator('#username').fill('No Spaces')
  await page.locator('form[data-test="profile-form"] button[type="submit"]').click()
  const alert = page.locator('form[data-test="profile-form"] [role="alert"]')
  await alert.waitFor()
  assert.match(await alert.innerText(), /[가-힣]/, 'a Korean message')

  session.step('a phone-sized screen')
  const phone = await session.newPage({ viewport: MOBILE })
  await open(phone, '/ko')
  await session.screenshot(phone, 'home-ko-mobile')
  await phone.locator('button[aria-controls="mobile-menu"]').click()
  await phone.locator('#mobile-menu').getByText('이미지 검증').waitFor()

  session.step('back to English, then sign out')
  await switchLanguage(page, 'en')
  assert.equal(await page.locator('h1').first().innerText(), 'Edit profile')
  await page.locator('[data-test="sign-out"]').click()
  await page.locator('[data-test="header-sign-in"]').waitFor()
  await open(page, '/me')
  await page.waitForURL((url) => url.pathname === '/sign-in' && url.searchParams.get('next') === '/me')
})
