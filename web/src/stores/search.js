import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api } from '@/api/index.js'
import { SearchResults } from '@/api/schemas.js'

/** Search styles (by tag and name) and artists (by name and username), spec §6.8. */
export const useSearchStore = defineStore('search', () => {
  const lastQuery = ref('')

  /** type 'all' gives the first page of both lists; a cursor pages one list ('styles' or 'artists'). */
  function search(q, { type = 'all', cursor = null } = {}) {
    lastQuery.value = q
    return api.get('/api/v1/search', { query: { q, type, cursor, limit: 20 }, schema: SearchResults })
  }

  return { lastQuery, search }
})
