import { onScopeDispose, ref } from 'vue'

// The server's rules for uploads (core/images.py), checked before anything is sent.
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024
export const IMAGE_TYPES = ['image/jpeg', 'image/png']

/** The i18n key of what is wrong with `file`, or null when it may be uploaded. */
export function imageFileProblem(file) {
  if (!file) return null
  if (!IMAGE_TYPES.includes(file.type)) return 'errors.fileType'
  if (file.size > MAX_IMAGE_BYTES) return 'errors.fileSize'
  return null
}

/** A chosen image file with its local preview URL and its problem, if any. */
export function useImageFile() {
  const file = ref(null)
  const previewUrl = ref(null)
  const problem = ref(null)

  function release() {
    if (previewUrl.value) URL.revokeObjectURL(previewUrl.value)
    previewUrl.value = null
  }

  function choose(next) {
    release()
    file.value = null
    problem.value = imageFileProblem(next)
    if (next && !problem.value) {
      file.value = next
      previewUrl.value = URL.createObjectURL(next)
    }
  }

  function clear() {
    choose(null)
  }

  onScopeDispose(release)
  return { file, previewUrl, problem, choose, clear }
}
