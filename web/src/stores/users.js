import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api } from '@/api/index.js'
import { UserPublic } from '@/api/schemas.js'

/** Public profiles (spec §6.2.1), kept while the app runs so going back is instant. */
export const useUsersStore = defineStore('users', () => {
  const profiles = ref({})

  async function fetchProfile(id, { force = false } = {}) {
    if (!force && profiles.value[id]) return profiles.value[id]
    const profile = await api.get(`/api/v1/users/${encodeURIComponent(id)}`, { schema: UserPublic })
    profiles.value[id] = profile
    return profile
  }

  function cached(id) {
    return profiles.value[id] ?? null
  }

  function reset() {
    profiles.value = {}
  }

  return { profiles, fetchProfile, cached, reset }
})
