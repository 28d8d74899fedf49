import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api } from '@/api/index.js'
import { Notification, NotificationPage, ReadAll } from '@/api/schemas.js'

export const POLL_SECONDS = 60

/** The signed-in user's notifications and the header's unread badge (spec §6.9). */
export const useNotificationsStore = defineStore('notifications', () => {
  const unreadCount = ref(0)
  let timer = null

  async function page(cursor, { unreadOnly = false } = {}) {
    const result = await api.get('/api/v1/notifications', {
      query: { cursor, limit: 20, unread_only: unreadOnly || undefined },
      schema: NotificationPage,
    })
    unreadCount.value = result.unread_count
    return result
  }

  async function refreshUnread() {
    await page(null).catch(() => {})
    return unreadCount.value
  }

  async function markRead(notification) {
    const updated = await api.patch(`/api/v1/notifications/${notification.id}/read`, { schema: Notification })
    if (!notification.is_read) unreadCount.value = Math.max(0, unreadCount.value - 1)
    return updated
  }

  async function markAllRead() {
    const result = await api.post('/api/v1/notifications/read-all', { schema: ReadAll })
    unreadCount.value = result.unread_count
    return result
  }

  /** Keeps the badge fresh while someone is signed in (the MVP has no push; spec §2.2.6). */
  function startPolling() {
    stopPolling()
    refreshUnread()
    timer = setInterval(refreshUnread, POLL_SECONDS * 1000)
  }

  function stopPolling() {
    if (timer) clearInterval(timer)
    timer = null
  }

  function reset() {
    stopPolling()
    unreadCount.value = 0
  }

  return { unreadCount, page, refreshUnread, markRead, markAllRead, startPolling, stopPolling, reset }
})
