import { defineStore } from 'pinia'
import { api } from '@/api/index.js'
import { Style, Styles, pageOf } from '@/api/schemas.js'

const StylePage = pageOf(Style)

/** Styles: browse, view with training progress, and the artist's own (spec §6.5). */
export const useStylesStore = defineStore('styles', () => {
  /** Trained styles; `following`: only those of the artists I follow (signed in). */
  function list({ sort = 'recent', tag = null, following = false, cursor = null } = {}) {
    const query = { sort, tag, following: following || null, cursor, limit: 24 }
    return api.get('/api/v1/styles', { query, schema: StylePage })
  }

  function get(styleId) {
    return api.get(`/api/v1/styles/${styleId}`, { schema: Style })
  }

  function mine() {
    return api.get('/api/v1/styles/me', { schema: Styles })
  }

  /**
   * Uploads the training images with one list of English tags per image; training starts on the server.
   * `onProgress(fraction)` follows the upload.
   */
  function create({ title, description, price, images }, onProgress) {
    const form = new FormData()
    form.append('title', title)
    form.append('description', description)
    form.append('generation_cost_tokens', String(price))
    form.append('tags', JSON.stringify(images.map((image) => image.tags)))
    for (const image of images) form.append('images', image.file, image.file.name)
    return api.upload('/api/v1/styles', { form, schema: Style, onProgress })
  }

  function update(styleId, changes) {
    return api.patch(`/api/v1/styles/${styleId}`, { json: changes, schema: Style })
  }

  function retrain(styleId) {
    return api.post(`/api/v1/styles/${styleId}/retrain`, { schema: Style })
  }

  function cancelTraining(styleId) {
    return api.post(`/api/v1/styles/${styleId}/training/cancel`, { schema: Style })
  }

  return { list, get, mine, create, update, retrain, cancelTraining }
})
