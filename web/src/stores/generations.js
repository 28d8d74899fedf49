import { defineStore } from 'pinia'
import { api } from '@/api/index.js'
import { Generation, pageOf } from '@/api/schemas.js'

const GenerationPage = pageOf(Generation)

/** Sizes by aspect ratio (spec §2.1.3), width × height. */
export const ASPECT_RATIOS = [
  { value: '1:1', width: 512, height: 512 },
  { value: '2:2', width: 1024, height: 1024 },
  { value: '1:2', width: 512, height: 1024 },
]
/** While a generation is in one of these, it is read again every few seconds. */
export const PENDING_STATUSES = ['queued', 'retrying', 'processing']

export function newIdempotencyKey() {
  return globalThis.crypto.randomUUID()
}

/** Images made with a style: request, follow, share and download (spec §6.6). */
export const useGenerationsStore = defineStore('generations', () => {
  /**
   * Charges the style's price and queues the image. `key` is the request's Idempotency-Key: one per click,
   * so the same request sent twice is charged once.
   */
  function create({ styleId, promptTags, aspectRatio = '1:1', seed = null, description = null }, key = newIdempotencyKey()) {
    const json = { style_id: styleId, prompt_tags: promptTags, aspect_ratio: aspectRatio }
    if (seed !== null && seed !== undefined && seed !== '') json.seed = Number(seed)
    if (description) json.description = description
    return api.post('/api/v1/generations', { json, headers: { 'Idempotency-Key': key }, schema: Generation })
  }

  function get(generationId) {
    return api.get(`/api/v1/generations/${generationId}`, { schema: Generation })
  }

  function minePage(cursor) {
    return api.get('/api/v1/generations/me', { query: { cursor, limit: 24 }, schema: GenerationPage })
  }

  /** `changes`: `is_public` and/or `description` (owner only). */
  function update(generationId, changes) {
    return api.patch(`/api/v1/generations/${generationId}`, { json: changes, schema: Generation })
  }

  function downloadUrl(generationId) {
    return `/api/v1/generations/${generationId}/download`
  }

  return { create, get, minePage, update, downloadUrl }
})
