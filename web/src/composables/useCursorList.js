import { ref, shallowRef } from 'vue'

/**
 * A list read page by page with the API's cursors (spec §6.1.3).
 * `fetchPage(cursor)` returns `{results, next_cursor, has_more}`.
 */
export function useCursorList(fetchPage) {
  const items = ref([])
  const hasMore = ref(true)
  const loading = ref(false)
  const loaded = ref(false)
  const error = shallowRef(null)
  let cursor = null
  let generation = 0

  async function loadMore() {
    if (loading.value || !hasMore.value) return
    const mine = generation
    loading.value = true
    error.value = null
    try {
      const page = await fetchPage(cursor)
      if (mine !== generation) return
      items.value.push(...page.results)
      cursor = page.next_cursor
      hasMore.value = page.has_more && Boolean(page.next_cursor)
      loaded.value = true
    } catch (caught) {
      if (mine === generation) error.value = caught
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  /** Start again from the first page (a new filter, or after a change). */
  function reload() {
    generation += 1
    items.value = []
    cursor = null
    hasMore.value = true
    loaded.value = false
    loading.value = false
    error.value = null
    return loadMore()
  }

  return { items, hasMore, loading, loaded, error, loadMore, reload }
}
