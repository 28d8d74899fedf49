import { defineStore } from 'pinia'
import { api } from '@/api/index.js'
import { Comment, CommentDeleted, FollowState, FollowingFeedItem, GenerationCard, LikeState, pageOf } from '@/api/schemas.js'

const FeedPage = pageOf(GenerationCard)
const FollowingFeedPage = pageOf(FollowingFeedItem)
const CommentPage = pageOf(Comment)

/**
 * Feeds, likes, comments and follows (spec §6.7). Whether I like an image or follow an artist comes with the
 * image or the profile (`liked_by_me`, `followed_by_me`), so nothing here is kept between pages.
 */
export const useCommunityStore = defineStore('community', () => {
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

  /** Follows or unfollows an artist (by their user id); returns the new state with the API's follower count. */
  function setFollowing(userId, follow) {
    const path = `/api/v1/users/${userId}/follow`
    return follow ? api.post(path, { schema: FollowState }) : api.delete(path, { schema: FollowState })
  }

  return {
    publicFeedPage,
    followingFeedPage,
    setLiked,
    commentsPage,
    addComment,
    editComment,
    deleteComment,
    setFollowing,
  }
})
