import { computed, onScopeDispose, ref } from 'vue'
import { imageFileProblem } from './useImageFile.js'

// The server's rules for a style's training images (platform_api/styles, core/images.py).
export const MIN_TRAINING_IMAGES = 10
export const MAX_TRAINING_IMAGES = 100
export const MIN_TRAINING_SIDE = 512
export const MAX_TAG_LENGTH = 50
const TAG = /^[a-z0-9](?:[a-z0-9 '&+.-]*[a-z0-9+.])?$/

/** The stored form of a tag (lowercase, single spaces), or null when it is not an English tag. */
export function normalizeTag(raw) {
  const tag = String(raw).replace(/\s+/g, ' ').trim().toLowerCase()
  return tag && tag.length <= MAX_TAG_LENGTH && TAG.test(tag) ? tag : null
}

/** Width and height of an image file, read by the browser. */
export async function imageSize(file) {
  const bitmap = await createImageBitmap(file)
  const size = { width: bitmap.width, height: bitmap.height }
  bitmap.close?.()
  return size
}

/**
 * The images chosen for a new style, each with its preview, size, tags and problem (the i18n key of what
 * the server would refuse), checked before anything is uploaded.
 */
export function useTrainingImages({ measure = imageSize } = {}) {
  const images = ref([])
  let nextId = 1

  async function add(files) {
    const room = MAX_TRAINING_IMAGES - images.value.length
    const added = [...files].slice(0, Math.max(0, room)).map((file) => ({
      id: nextId++,
      file,
      previewUrl: URL.createObjectURL(file),
      tags: [],
      problem: imageFileProblem(file),
      width: null,
      height: null,
    }))
    images.value.push(...added)
    await Promise.all(
      added.map(async (entry) => {
        const image = images.value.find((candidate) => candidate.id === entry.id)
        if (!image || image.problem) return
        try {
          Object.assign(image, await measure(image.file))
          if (Math.min(image.width, image.height) < MIN_TRAINING_SIDE) image.problem = 'styles.imageTooSmall'
        } catch {
          image.problem = 'errors.fileType'
        }
      }),
    )
    return files.length - added.length // files left out: over the limit
  }

  function remove(id) {
    const image = images.value.find((candidate) => candidate.id === id)
    if (image) URL.revokeObjectURL(image.previewUrl)
    images.value = images.value.filter((candidate) => candidate.id !== id)
  }

  function clear() {
    images.value.forEach((image) => URL.revokeObjectURL(image.previewUrl))
    images.value = []
  }

  const problems = computed(() => images.value.filter((image) => image.problem).length)
  const countProblem = computed(() => {
    const count = images.value.length
    if (count < MIN_TRAINING_IMAGES) return 'styles.tooFewImages'
    if (count > MAX_TRAINING_IMAGES) return 'styles.tooManyImages'
    return null
  })
  const ready = computed(
    () => !countProblem.value && !problems.value && images.value.every((image) => image.width !== null),
  )

  onScopeDispose(clear)
  return { images, add, remove, clear, problems, countProblem, ready }
}
