// Shared steps of the browser tests: Debian's chromium driven by playwright-core, screenshots, and a watch
// for what must never happen in a page (uncaught errors, CSP violations, API answers the app rejects).
// Each spec is `node e2e/<spec>.mjs <base-url>`; tests/web/test_e2e.py starts the API and runs them.
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export { assert }

const here = dirname(fileURLToPath(import.meta.url))
export const SCREENSHOTS = process.env.E2E_SCREENSHOTS || join(here, 'screenshots')
export const FIXTURES = process.env.E2E_FIXTURES || join(here, 'fixtures')
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const DESKTOP = { width: 1280, height: 800 }
export const MOBILE = { width: 390, height: 844 }

export function baseUrl() {
  const url = process.argv[2]
  if (!url) {
    console.error('usage: node e2e/<spec>.mjs <base-url>')
    process.exit(2)
  }
  return url.replace(/\/$/, '')
}

/**
 * Runs `body(session)` with a fresh browser; exits 1 (with the failing step) on any failure.
 * playwright-core gives every launch a fresh temporary --user-data-dir of its own.
 */
export async function run(name, body) {
  mkdirSync(SCREENSHOTS, { recursive: true })
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  })
  const session = new Session(browser, baseUrl())
  const started = Date.now()
  try {
    await body(session)
    session.assertNoPageProblems()
    console.log(`${name}: passed in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  } catch (error) {
    console.error(`${name}: FAILED at step "${session.currentStep}"`)
    console.error(error?.stack ?? error)
    for (const page of session.pages) {
      await page.screenshot({ path: join(SCREENSHOTS, `FAILED-${name}.png`), fullPage: true }).catch(() => {})
    }
    process.exitCode = 1
  } finally {
    await browser.close()
  }
}

class Session {
  constructor(browser, base) {
    this.browser = browser
    this.base = base
    this.pages = []
    this.problems = []
    this.currentStep = 'start'
  }

  step(label) {
    this.currentStep = label
    console.log(`  · ${label}`)
  }

  /** A new browser context (its own cookies and storage): one visitor. */
  async newPage({ viewport = DESKTOP, locale = 'en-US' } = {}) {
    const context = await this.browser.newContext({ viewport, locale, baseURL: this.base })
    context.setDefaultTimeout(15000)
    const page = await context.newPage()
    page.on('pageerror', (error) => this.problems.push(`uncaught error: ${error.message}`))
    page.on('console', (message) => {
      const text = message.text()
      if (/Content Security Policy|Unexpected API response|\[Vue warn\]|\[intlify\]/.test(text)) {
        this.problems.push(`console ${message.type()}: ${text}`)
      }
    })
    this.pages.push(page)
    return page
  }

  assertNoPageProblems() {
    assert.deepEqual(this.problems, [], 'pages reported errors')
  }

  async screenshot(page, name, { fullPage = true } = {}) {
    await page.waitForLoadState('networkidle')
    // From the top, so the sticky header sits where a visitor sees it.
    await page.evaluate(async () => {
      window.scrollTo(0, 0)
      await document.fonts.ready
    })
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage, animations: 'disabled' })
  }

  /** `<name>-en` of the page as it is, then `<name>-ko` once `korean` (a locator) shows; back in English. */
  async screenshotBothLanguages(page, name, korean) {
    await this.screenshot(page, `${name}-en`)
    await switchLanguage(page, 'ko')
    await korean.waitFor()
    await this.screenshot(page, `${name}-ko`)
    await switchLanguage(page, 'en')
  }
}

/** Opens `path` and waits until the app has rendered it (the router resolved, lazy page loaded). */
export async function open(page, path) {
  await page.goto(path)
  await page.locator('main#main').waitFor()
  await page.waitForLoadState('networkidle')
}

export async function switchLanguage(page, locale) {
  await page.locator(`[data-test="lang-${locale}"]`).click()
  await page.waitForFunction((expected) => document.documentElement.lang === expected, locale)
}

export async function devSignIn(page, { email, username }) {
  await open(page, '/sign-in')
  await page.locator('#dev-email').fill(email)
  if (username) await page.locator('#dev-username').fill(username)
  await page.locator('form[data-test="dev-sign-in"] button[type="submit"]').click()
  await page.waitForURL(/\/me$/)
  await page.locator('[data-test="my-username"]').waitFor()
}

export async function headerBalance(page) {
  const text = await page.locator('[data-test="header-balance"]').innerText()
  return Number(text.replace(/[^\d]/g, ''))
}

/** Types each tag into a tag input (TagInput) and presses Enter, as a person adds chips. */
export async function addTags(input, tags) {
  for (const tag of tags) {
    await input.fill(tag)
    await input.press('Enter')
  }
}

/** The ten training images tests/web/conftest.py writes (640×640 JPEGs). */
export function trainingImages() {
  return Array.from({ length: 10 }, (_, i) => join(FIXTURES, `training-${i}.jpg`))
}
