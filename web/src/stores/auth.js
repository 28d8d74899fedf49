import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import { api } from '@/api/index.js'
import { ApiError } from '@/api/client.js'
import { SignedIn, UserPrivate } from '@/api/schemas.js'
import { useNotificationsStore } from './notifications.js'
import { useTokensStore } from './tokens.js'
import { useUsersStore } from './users.js'

/** Who is signed in, and their own account (spec §6.2.1, §6.3). */
export const useAuthStore = defineStore('auth', () => {
  const user = ref(null)
  const loaded = ref(false)
  const loadError = shallowRef(null)
  let pending = null

  const isSignedIn = computed(() => user.value !== null)
  const isArtist = computed(() => user.value?.role === 'artist' || Boolean(user.value?.artist))

  function setUser(next) {
    // Profiles carry their reader's follow state (`followed_by_me`): another reader reads them afresh.
    if (next?.id !== user.value?.id) useUsersStore().reset()
    user.value = next
    loaded.value = true
    const tokens = useTokensStore()
    if (next) {
      tokens.setBalance(next.token_balance, next.artist?.earned_token_balance ?? null)
    } else {
      // Nothing of the last account stays behind for the next one.
      tokens.reset()
      useNotificationsStore().reset()
    }
  }

  /** Reads the session once; guards and the header wait on the same request. */
  function ensureLoaded() {
    if (loaded.value) return Promise.resolve(user.value)
    pending ??= api
      .get('/api/v1/auth/me', { schema: UserPrivate })
      .then((me) => setUser(me))
      .catch((error) => {
        if (!(error instanceof ApiError && error.status === 401)) loadError.value = error
        setUser(null)
      })
      .then(() => user.value)
      .finally(() => {
        pending = null
      })
    return pending
  }

  async function devLogin({ email, username }) {
    const body = { email }
    if (username) body.username = username
    const signedIn = await api.post('/api/v1/auth/dev-login', { json: body, schema: SignedIn })
    api.rememberCsrfToken(signedIn.csrf_token)
    setUser(signedIn.user)
    return signedIn.user
  }

  function googleLoginUrl(next) {
    const query = next && next.startsWith('/') && !next.startsWith('//') ? `?next=${encodeURIComponent(next)}` : ''
    return `/api/v1/auth/google/login${query}`
  }

  async function logout() {
    try {
      await api.post('/api/v1/auth/logout')
    } finally {
      setUser(null)
    }
  }

  async function updateProfile(changes) {
    setUser(await api.patch('/api/v1/users/me', { json: changes, schema: UserPrivate }))
    return user.value
  }

  /** Remembers the UI language on the account (notifications use it); a failure changes nothing visible. */
  async function savePreferredLanguage(locale) {
    if (!user.value || user.value.preferred_language === locale) return
    try {
      await updateProfile({ preferred_language: locale })
    } catch {
      // the choice is still kept in this browser
    }
  }

  async function uploadAvatar(file) {
    const form = new FormData()
    form.append('image', file)
    setUser(await api.put('/api/v1/users/me/profile-image', { form, schema: UserPrivate }))
    return user.value
  }

  async function removeAvatar() {
    setUser(await api.delete('/api/v1/users/me/profile-image', { schema: UserPrivate }))
    return user.value
  }

  async function upgradeToArtist({ artistName, verifiedEmail, signature }) {
    const form = new FormData()
    form.append('artist_name', artistName)
    form.append('verified_email', verifiedEmail)
    form.append('signature_image', signature)
    setUser(await api.post('/api/v1/users/me/upgrade-to-artist', { form, schema: UserPrivate }))
    return user.value
  }

  return {
    user,
    loaded,
    loadError,
    isSignedIn,
    isArtist,
    setUser,
    ensureLoaded,
    devLogin,
    googleLoginUrl,
    logout,
    updateProfile,
    savePreferredLanguage,
    uploadAvatar,
    removeAvatar,
    upgradeToArtist,
  }
})
