// Verify: an image with no provenance, a signed generation (artist, style, generation, C2PA), a refused file,
// in both languages, signed out (verification is public).
import { join } from 'node:path'
import { FIXTURES, assert, open, run, switchLanguage } from './lib.mjs'

await run('verify', async (session) => {
  const page = await session.newPage()

  session.step('the empty page')
  await open(page, '/en/verify')
  await session.screenshot(page, 'verify-en')

  session.step('a file that is not an image is refused before upload')
  await page.locator('#verify-file').setInputFiles(join(FIXTURES, 'notes.txt'))
  await page.getByText('Choose a JPG or PNG image.').waitFor()

  session.step('an ordinary photo: no proof')
  await page.locator('#verify-file').setInputFiles(join(FIXTURES, 'plain.jpg'))
  await page.locator('[data-test="verify-submit"]').click()
  const result = page.locator('[data-test="verify-result"]')
  await result.getByText('No proof of origin found').waitFor()
  assert.match(await page.locator('[data-test="verify-credentials"]').innerText(), /None/)

  session.step('a signed generation: proven by its content credentials')
  await page.getByRole('button', { name: 'Check another image' }).click()
  await page.locator('#verify-file').setInputFiles(join(FIXTURES, 'signed.png'))
  await page.locator('[data-test="verify-submit"]').click()
  await result.getByText('Generated on Style License').waitFor()
  await result.getByText('Proven by its content credentials (C2PA).').waitFor()
  await result.getByRole('link', { name: '김민아' }).waitFor()
  await result.getByText('Watercolour Garden').first().waitFor()
  assert.match(await page.locator('[data-test="verify-credentials"]').innerText(), /signed by Style License/)
  await session.screenshot(page, 'verify-result-en')

  session.step('the result in Korean')
  await switchLanguage(page, 'ko')
  await result.getByText('Style License에서 생성된 이미지입니다').waitFor()
  await result.getByText('콘텐츠 자격 증명(C2PA)으로 확인되었습니다.').waitFor()
  await session.screenshot(page, 'verify-result-ko')
  await page.getByRole('button', { name: '다른 이미지 확인' }).click()
  await session.screenshot(page, 'verify-ko')
})
