import { ref, shallowRef } from 'vue'

/**
 * Loading / error / data state around one async task, for the pages' loading, empty and error states.
 * `run(...args)` resolves to the task's result, or to undefined when it failed (the error is in `error`).
 */
export function useAsync(task, { immediate = false } = {}) {
  const data = shallowRef(null)
  const error = shallowRef(null)
  const loading = ref(immediate)
  let latest = 0

  async function run(...args) {
    const call = ++latest
    loading.value = true
    error.value = null
    try {
      const result = await task(...args)
      if (call === latest) data.value = result
      return result
    } catch (caught) {
      if (call === latest) error.value = caught
      return undefined
    } finally {
      if (call === latest) loading.value = false
    }
  }

  if (immediate) run()
  return { data, error, loading, run }
}
