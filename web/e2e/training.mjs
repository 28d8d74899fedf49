// An artist creates a style on the stack with Ray: ten images with tags are uploaded, the style page follows
// training (a Ray Job on the tiny model) until the style is ready with its samples, the artist switches to the
// other epoch, and the notification (naming the best epoch) appears in the header's badge and in the list, in both
// languages.
// Seeded by tests/web/conftest.py (ray_web_stack): 박미나 (painter@example.com), an artist with no style yet.
import { addTags, assert, devSignIn, open, run, switchLanguage, trainingImages } from './lib.mjs'

// Starting the job's Python and two epochs of ten images at 64² take about 20 s on two busy cores.
const TRAINED_WITHIN_MS = 180_000

await run('training', async (session) => {
  const page = await session.newPage()

  session.step('the artist describes the style and picks ten images')
  await devSignIn(page, { email: 'painter@example.com' })
  await open(page, '/styles/new')
  await page.locator('#new-style-title').fill('Quiet Streets')
  await page.locator('#new-style-description').fill('Empty streets at dawn, in soft pencil.')
  await addTags(page.locator('#shared-tags'), ['streets', 'dawn'])
  await page.locator('#training-files').setInputFiles(trainingImages())
  await page.locator('[data-test="image-count"]', { hasText: '10 of 10–100 images' }).waitFor()

  session.step('the upload starts training; the style page shows where it stands')
  await page.locator('[data-test="create-style-submit"]:not([disabled])').click()
  await page.waitForURL(/\/styles\/\d+$/, { timeout: 60_000 })
  const progress = page.locator('[data-test="training-progress"]')
  await progress.waitFor()
  assert.match(await progress.innerText(), /Waiting to train|Training/)
  await session.screenshot(page, 'training-en')

  session.step('training completes: the style is ready with its samples')
  await page.locator('[data-test="training-status"]', { hasText: 'Ready' }).waitFor({ timeout: TRAINED_WITHIN_MS })
  await progress.waitFor({ state: 'detached' })
  assert.equal(await page.locator('[data-test="samples"] img').count(), 2)
  await page.locator('[data-test="generate-panel"]').waitFor()

  session.step('its artist sees how well each epoch learned, beside the base model, with its samples')
  const scores = page.locator('[data-test="training-scores"]')
  assert.match(await scores.innerText(), /The base model alone scores \d\.\d+/)
  assert.equal(await scores.locator('tbody tr').count(), 2)  // two epochs, both kept
  assert.equal(await scores.locator('[data-test="epoch-1"] img').count(), 2)  // the same two prompts each epoch

  session.step('the artist chooses the other epoch; it stays chosen')
  const best = Number(await scores.locator('tbody tr', { hasText: 'In use' }).locator('td').first().innerText())
  const other = best === 1 ? 2 : 1
  await scores.locator(`[data-test="epoch-${other}"]`).getByRole('button', { name: 'Use this epoch' }).click()
  await scores.locator(`[data-test="epoch-${other}"]`, { hasText: 'In use' }).waitFor()
  await session.screenshot(page, 'epoch-chosen-en')
  await page.reload()
  await scores.locator(`[data-test="epoch-${other}"]`, { hasText: 'In use' }).waitFor()
  await scores.locator(`[data-test="epoch-${best}"]`).getByRole('button', { name: 'Use this epoch' }).waitFor()

  session.step('the notification: the header badge, then the list in both languages')
  const badge = page.locator('[data-test="unread-badge"]')
  await badge.waitFor()
  assert.equal(await badge.innerText(), '1')
  await session.screenshot(page, 'style-trained-en')
  await page.locator('[data-test="notification-bell"]').click()
  const list = page.locator('[data-test="notifications"]')
  await list.getByText(`Your style “Quiet Streets” is trained and ready to use, drawing with epoch ${best}, its best.`, { exact: false }).waitFor()
  await switchLanguage(page, 'ko')
  await list.getByText(`가장 좋은 ${best}번째 에폭으로 그립니다.`, { exact: false }).waitFor()
  await page.locator('[data-test="read-all"]').click()
  await badge.waitFor({ state: 'detached' })
  await session.screenshot(page, 'notifications-training-ko')
  await switchLanguage(page, 'en')
})
