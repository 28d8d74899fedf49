import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api } from '@/api/index.js'
import {
  Comment,
  CommentDeleted,
  FollowState,
  FollowedArtist,
  FollowingFeedItem,
  GenerationCard,
  LikeState,
  pageOf,
} from '@/api/schemas.js'

const FeedPage = pageOf(GenerationCard)
const FollowingFeedPage = pageOf(FollowingFeedItem)
const CommentPage = pageOf(Comment)
const FollowingPage = pageOf(FollowedArtist)
// The follow buttons need to know whom I follow; an MVP account follows far fewer artists than this.
const FOLLOWING_PAGES = 5

/** Feeds, likes, comments and follows (spec §6.7). */
export const useCommunityStore = defineStore('community', () => {
  const following = ref([])
  const followingLoaded = ref(false)

  function publicFeedPage(cursor) {
    return api.get('/api/v1/feed', { query: { cursor, limit: 24 }, schema: FeedPage })
  }

  function followingFeedPage(cursor) {
    return api.get('/api/v1/feed/following', { query: { cursor, limit: 24 }, schema: FollowingFeedPage })
  }

  /** Likes or unlikes; returns the new state (the API's count, not a guess). */
  function setLiked(generationId, liked) {
    const path = `/api/v1/generations/${generationId}/like`
    return liked ? api.post(path, { schema: LikeState }) : api.delete(path, { schema: LikeState })
  }

  function commentsPage(generationId, cursor) {
    return api.get(`/api/v1/generations/${generationId}/comments`, { query: { cursor, limit: 20 }, schema: CommentPage })
  }

  function addComment(generationId, content, parentId = null) {
    const json = parentId ? { content, parent_id: parentId } : { content }
    return api.post(`/api/v1/generations/${generationId}/comments`, { json, schema: Comment })
  }

  function editComment(commentId, content) {
    return api.patch(`/api/v1/comments/${commentId}`, { json: { content }, schema: Comment })
  }

  function deleteComment(commentId) {
    return api.delete(`/api/v1/comments/${commentId}`, { schema: CommentDeleted })
  }

  async function loadFollowing({ force = false } = {}) {
    if (followingLoaded.value && !force) return following.value
    const artists = []
    let cursor = null
    for (let page = 0; page < FOLLOWING_PAGES; page++) {
      const result = await api.get('/api/v1/users/me/following', { query: { cursor, limit: 100 }, schema: FollowingPage })
      artists.push(...result.results)
      if (!result.has_more) break
      cursor = result.next_cursor
    }
    following.value = artists
    followingLoaded.value = true
    return artists
  }

  function isFollowing(userId) {
    return following.value.some((artist) => artist.id === userId)
  }

  /** Follows or unfollows an artist (by their user id); keeps the following list in step. */
  async function setFollowing(artist, follow) {
    const path = `/api/v1/users/${artist.id}/follow`
    const state = follow ? await api.post(path, { schema: FollowState }) : await api.delete(path, { schema: FollowState })
    following.value = following.value.filter((known) => known.id !== artist.id)
    if (state.following) {
      following.value.unshift({ ...artist, follower_count: state.follower_count, followed_at: new Date().toISOString() })
    }
    return state
  }

  function reset() {
    following.value = []
    followingLoaded.value = false
  }

  return {
    following,
    followingLoaded,
    publicFeedPage,
    followingFeedPage,
    setLiked,
    commentsPage,
    addComment,
    editComment,
    deleteComment,
    loadFollowing,
    isFollowing,
    setFollowing,
    reset,
  }
})
