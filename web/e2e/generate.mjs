// Generate → watch progress → download, on the stack with Ray: a signed-in fan opens a trained style, enters
// prompt tags, and the generation Serve app draws the image (tiny model, two steps) while the panel shows
// where the request stands; then the image, the charge, the notification, and the download, a signed PNG.
// Seeded by tests/web/conftest.py (ray_web_stack): 서윤's trained style "Night Market".
import { readFile } from 'node:fs/promises'
import { addTags, assert, devSignIn, headerBalance, open, run } from './lib.mjs'

const PRICE = 10
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

await run('generate', async (session) => {
  const page = await session.newPage()

  session.step('a fan with the welcome bonus finds the style')
  await devSignIn(page, { email: 'collector@example.com', username: 'night_owl' })
  const before = await headerBalance(page)
  await open(page, '/search')
  await page.locator('[data-test="all-styles"]').getByText('Night Market').click()
  const panel = page.locator('[data-test="generate-panel"]')
  await panel.waitFor()
  await session.screenshotBothLanguages(page, 'generate', panel.getByText('이미지 만들기'))

  session.step('prompt tags, then generate')
  await addTags(page.locator('#generate-tags'), ['lanterns', 'rain'])
  await panel.locator('[data-test="generate-submit"]').click()

  session.step('where the request stands, then the image')
  // The answer to the click is the queued request; the panel reads it again only 5 s later.
  const status = panel.locator('[data-test="generation-status"]')
  await status.waitFor()
  assert.notEqual(await status.getAttribute('data-status'), 'completed')
  assert.match(await status.innerText(), /Waiting in line|Drawing|Starting/)
  await session.screenshot(page, 'generate-progress-en')
  await panel.locator('[data-test="generation-status"][data-status="completed"]').waitFor({ timeout: 120_000 })
  await panel.getByText('Your image is ready.').waitFor()
  const image = panel.locator('[data-test="generation-result"] img')
  await page.waitForFunction((img) => img.complete && img.naturalWidth === 512, await image.elementHandle())
  assert.equal(await headerBalance(page), before - PRICE, 'charged once, at the price shown')
  await page.locator('[data-test="unread-badge"]', { hasText: '1' }).waitFor() // “Your image is ready.”
  await session.screenshot(page, 'generate-result-en')

  session.step('the download is the signed PNG')
  const [download] = await Promise.all([page.waitForEvent('download'), panel.locator('[data-test="download"]').click()])
  const bytes = await readFile(await download.path())
  assert.deepEqual([...bytes.subarray(0, 8)], PNG_SIGNATURE, 'a PNG file')
  assert.match(download.suggestedFilename(), /\.png$/)

  session.step('its page, in both languages')
  await panel.locator('[data-test="open-generation"]').click()
  const detail = page.locator('[data-test="generation-detail"]')
  await detail.waitFor()
  assert.match(await detail.locator('[data-test="generation-style"]').innerText(), /Night Market/)
  const koreanDownload = detail.locator('[data-test="download"]', { hasText: '다운로드' })
  await session.screenshotBothLanguages(page, 'generation', koreanDownload)
})
