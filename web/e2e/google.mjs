// "Continue with Google" through the local OpenID provider that tests/web/conftest.py configures in place of
// Google: authorization code flow with PKCE, back to the page the visitor wanted, signed in.
import { assert, headerBalance, open, run } from './lib.mjs'

await run('google', async (session) => {
  const page = await session.newPage()

  session.step('a signed-in page sends the visitor to sign in; Google brings them back to it')
  await open(page, '/ko/tokens')
  await page.locator('[data-test="package-basic_100"] a').click()
  await page.waitForURL((url) => url.pathname === '/ko/sign-in')
  const google = page.locator('[data-test="google-sign-in"]')
  assert.equal(await google.innerText(), 'Google로 계속하기')
  await session.screenshot(page, 'sign-in-google-ko')
  await google.click()
  await page.waitForURL((url) => url.pathname === '/tokens')
  await page.locator('[data-test="tokens-balance"]').waitFor()
  assert.equal(await headerBalance(page), 100, 'the welcome bonus of a first sign-in')

  session.step('the account is the Google identity')
  await open(page, '/me')
  assert.match(await page.locator('main').innerText(), /sora\.google@example\.com/)
})
