import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { useAuthStore } from '@/stores/auth.js'
import { useCommunityStore } from '@/stores/community.js'
import { POLL_SECONDS, useNotificationsStore } from '@/stores/notifications.js'
import { useSearchStore } from '@/stores/search.js'
import { useUsersStore } from '@/stores/users.js'
import { Host, fail, fakeApi, flushPromises, me, mountApp, ok, publicProfile } from './helpers.js'

const CSRF = { 'GET /api/v1/auth/csrf': ok({ csrf_token: 'c' }) }
const signedOut = { 'GET /api/v1/auth/me': fail(401, 'UNAUTHORIZED') }
const page = (results, more = {}) => ok({ results, next_cursor: null, has_more: false, ...more })
const artist = { id: 3, username: 'jiwoo', profile_image_url: null, artist_name: '한지우', follower_count: 4 }
const style = { id: 9, title: 'Ink Harbour', thumbnail_url: null, artist: { id: 3, artist_name: '한지우' } }
const trainedStyle = (overrides = {}) => ({
  ...style, description: '', generation_cost_tokens: 10, training_status: 'completed', progress: null,
  artist: { user_id: 3, artist_name: '한지우', username: 'jiwoo' }, tags: ['ink harbour'], generation_count: 0,
  created_at: '2026-11-20T10:00:00Z', trained_at: '2026-11-21T10:00:00Z', ...overrides,
})
const generation = (overrides = {}) => ({
  id: 21, image_url: '/media/public/g/21.png', thumbnail_url: '/media/public/g/21-t.png', description: 'Morning boats',
  prompt_tags: ['harbour'], aspect_ratio: '1:1', width: 512, height: 512, is_public: true, like_count: 2,
  comment_count: 0, liked_by_me: false, owner: { id: 3, username: 'jiwoo', profile_image_url: null }, style,
  created_at: '2026-11-27T10:00:00Z', ...overrides,
})
const comment = (overrides = {}) => ({
  id: 1, generation_id: 21, parent_id: null, content: 'Lovely', author: { id: 7, username: 'mina', profile_image_url: null },
  is_deleted: false, is_edited: false, created_at: '2026-11-27T10:00:00Z', updated_at: '2026-11-27T10:00:00Z', replies: [],
  ...overrides,
})
const notification = (overrides = {}) => ({
  id: 1, type: 'follow', message: 'mina started following you.', data: {}, actor: { id: 7, username: 'mina', profile_image_url: null },
  is_read: false, read_at: null, created_at: '2026-11-27T10:00:00Z', ...overrides,
})

beforeEach(() => setActivePinia(createPinia()))

describe('community store', () => {
  it('likes and unlikes with the API’s count', async () => {
    const fetch = fakeApi({
      ...CSRF,
      'POST /api/v1/generations/21/like': ok({ generation_id: 21, liked: true, like_count: 3 }),
      'DELETE /api/v1/generations/21/like': ok({ generation_id: 21, liked: false, like_count: 2 }),
    })
    const community = useCommunityStore()
    expect((await community.setLiked(21, true)).like_count).toBe(3)
    expect((await community.setLiked(21, false)).liked).toBe(false)
    expect(fetch.requests.filter((r) => r.path.endsWith('/like')).map((r) => r.method)).toEqual(['POST', 'DELETE'])
  })

  it('follows and unfollows by user id, with the API’s follower count', async () => {
    const fetch = fakeApi({
      ...CSRF,
      'POST /api/v1/users/3/follow': ok({ user_id: 3, following: true, follower_count: 5 }),
      'DELETE /api/v1/users/3/follow': ok({ user_id: 3, following: false, follower_count: 4 }),
    })
    const community = useCommunityStore()
    expect(await community.setFollowing(3, true)).toEqual({ user_id: 3, following: true, follower_count: 5 })
    expect((await community.setFollowing(3, false)).following).toBe(false)
    expect(fetch.requests.filter((r) => r.path.endsWith('/follow')).map((r) => r.method)).toEqual(['POST', 'DELETE'])
  })

  it('writes comments and replies, edits and deletes them', async () => {
    const fetch = fakeApi({
      ...CSRF,
      'POST /api/v1/generations/21/comments': (r) => ok(comment({ content: r.json.content, parent_id: r.json.parent_id ?? null }), 201),
      'PATCH /api/v1/comments/1': ok(comment({ content: 'Edited', is_edited: true })),
      'DELETE /api/v1/comments/1': ok({ id: 1, deleted: true }),
    })
    const community = useCommunityStore()
    await community.addComment(21, 'Hi')
    await community.addComment(21, 'Reply', 1)
    expect(fetch.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/comments')).map((r) => r.json)).toEqual([
      { content: 'Hi' },
      { content: 'Reply', parent_id: 1 },
    ])
    expect((await community.editComment(1, 'Edited')).is_edited).toBe(true)
    expect((await community.deleteComment(1)).deleted).toBe(true)
  })

  it('reads profiles afresh for another reader: they carry the reader’s follow state', async () => {
    let followed = false
    const fetch = fakeApi({ 'GET /api/v1/users/3': () => ok(publicProfile({ id: 3, followed_by_me: followed })) })
    const users = useUsersStore()
    const auth = useAuthStore()
    auth.setUser(me())
    expect((await users.fetchProfile(3)).followed_by_me).toBe(false)
    followed = true
    auth.setUser(me({ bio: 'Edited.' })) // the same reader: the cache stays
    expect((await users.fetchProfile(3)).followed_by_me).toBe(false)
    auth.setUser(me({ id: 8 }))
    expect((await users.fetchProfile(3)).followed_by_me).toBe(true)
    expect(fetch.requests).toHaveLength(2)
  })
})

describe('notifications store', () => {
  it('counts unread, reads one and all', async () => {
    fakeApi({
      ...CSRF,
      'GET /api/v1/notifications': page([notification()], { unread_count: 2 }),
      'PATCH /api/v1/notifications/1/read': ok(notification({ is_read: true, read_at: 'now' })),
      'POST /api/v1/notifications/read-all': ok({ marked_read: 1, unread_count: 0 }),
    })
    const notifications = useNotificationsStore()
    expect(await notifications.refreshUnread()).toBe(2)
    await notifications.markRead(notification())
    expect(notifications.unreadCount).toBe(1)
    await notifications.markRead(notification({ is_read: true })) // already read: the count stays
    expect(notifications.unreadCount).toBe(1)
    await notifications.markAllRead()
    expect(notifications.unreadCount).toBe(0)
  })

  it('polls while started', async () => {
    vi.useFakeTimers()
    const fetch = fakeApi({ 'GET /api/v1/notifications': page([], { unread_count: 1 }) })
    const notifications = useNotificationsStore()
    notifications.startPolling()
    await vi.advanceTimersByTimeAsync(POLL_SECONDS * 1000 * 2)
    expect(fetch.requests).toHaveLength(3)
    notifications.reset()
    await vi.advanceTimersByTimeAsync(POLL_SECONDS * 1000 * 2)
    expect(fetch.requests).toHaveLength(3)
    expect(notifications.unreadCount).toBe(0)
    vi.useRealTimers()
  })
})

describe('search store', () => {
  it('asks for both lists, or pages one', async () => {
    const fetch = fakeApi({ 'GET /api/v1/search': ok({ styles: null, artists: null }) })
    const search = useSearchStore()
    await search.search('ink')
    await search.search('ink', { type: 'styles', cursor: 'c' })
    expect(fetch.requests.map((r) => r.query)).toEqual([
      { q: 'ink', type: 'all', limit: '20' },
      { q: 'ink', type: 'styles', cursor: 'c', limit: '20' },
    ])
    expect(search.lastQuery).toBe('ink')
  })
})

describe('home feed', () => {
  it('shows the public feed to visitors, with comments to read', async () => {
    fakeApi({ ...signedOut, 'GET /api/v1/feed': page([generation()]), 'GET /api/v1/generations/21/comments': page([comment({ replies: [comment({ id: 2, parent_id: 1, content: 'Thanks', replies: null })] })]) })
    const { wrapper } = await mountApp(Host, { url: '/' })
    expect(wrapper.text()).toContain('Art styles, licensed by the artists who made them')
    const tile = wrapper.get('[data-test="generation-21"]')
    expect(tile.text()).toContain('in Ink Harbour · 한지우')
    expect(tile.find('[data-test="like"]').exists()).toBe(false)
    await tile.get('[data-test="open-comments"]').trigger('click')
    await flushPromises()
    const modal = wrapper.get('[data-test="comments-modal"]')
    expect(modal.text()).toContain('Lovely')
    expect(modal.text()).toContain('Thanks')
    expect(modal.text()).toContain('Sign in to comment.')
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }))
    await flushPromises()
    expect(wrapper.find('[data-test="comments-modal"]').exists()).toBe(false)
  })

  it('lets a signed-in reader like, comment, reply, delete, and switch to the following feed', async () => {
    fakeApi({
      'GET /api/v1/auth/me': ok(me()),
      ...CSRF,
      'GET /api/v1/feed': page([generation()]),
      'GET /api/v1/feed/following': page([{ kind: 'style', at: 'x', style }]),
      'POST /api/v1/generations/21/like': ok({ generation_id: 21, liked: true, like_count: 3 }),
      'GET /api/v1/generations/21/comments': page([]),
      'POST /api/v1/generations/21/comments': (r) => ok(comment({ id: r.json.parent_id ? 2 : 1, content: r.json.content, parent_id: r.json.parent_id ?? null, replies: r.json.parent_id ? null : [] }), 201),
      'DELETE /api/v1/comments/2': ok({ id: 2, deleted: true }),
    })
    const { wrapper } = await mountApp(Host, { url: '/' })
    const tile = () => wrapper.get('[data-test="generation-21"]')
    await tile().get('[data-test="like"]').trigger('click')
    await flushPromises()
    expect(tile().get('[data-test="like-count"]').text()).toBe('3')
    expect(tile().get('[data-test="like"]').attributes('aria-pressed')).toBe('true')

    await tile().get('[data-test="open-comments"]').trigger('click')
    await flushPromises()
    const modal = () => wrapper.get('[data-test="comments-modal"]')
    expect(modal().text()).toContain('No comments yet.')
    await modal().get('[data-test="comment-form"] input').setValue('Lovely')
    await modal().get('[data-test="comment-form"]').trigger('submit')
    await flushPromises()
    await modal().findAll('button').find((b) => b.text() === 'Reply').trigger('click')
    await modal().get('[data-test="reply-form"] input').setValue('Thanks')
    await modal().get('[data-test="reply-form"]').trigger('submit')
    await flushPromises()
    expect(modal().text()).toContain('Thanks')
    const deletes = modal().findAll('button').filter((b) => b.text() === 'Delete')
    await deletes.at(-1).trigger('click')
    await flushPromises()
    expect(modal().text()).not.toContain('Thanks')
    await modal().get('[data-test="close-comments"]').trigger('click')
    await flushPromises()
    expect(tile().get('[data-test="comment-count"]').text()).toBe('1')

    await wrapper.findAll('[role="tab"]').find((b) => b.text() === 'Following').trigger('click')
    await flushPromises()
    expect(wrapper.text()).toContain('한지우 finished training a new style')
  })

  it('has empty and error states', async () => {
    let feed = fail(500, 'INTERNAL_ERROR', 'Down.')
    fakeApi({ ...signedOut, 'GET /api/v1/feed': () => feed })
    const { wrapper } = await mountApp(Host, { url: '/' })
    expect(wrapper.get('[role="alert"]').text()).toContain('Down.')
    feed = page([])
    await wrapper.get('[role="alert"] button').trigger('click')
    await flushPromises()
    expect(wrapper.text()).toContain('No images yet')
  })
})

describe('comments modal: editing my own comments', () => {
  const mine = comment({ replies: [comment({ id: 2, parent_id: 1, content: 'My reply', replies: null })] })
  const theirs = comment({ id: 3, content: 'Not mine', author: { id: 8, username: 'jiwoo', profile_image_url: null } })
  const edits = (routes) =>
    fakeApi({ ...CSRF, 'GET /api/v1/generations/21/comments': page([mine, theirs].map((c) => structuredClone(c))), ...routes })
  const open = async () => {
    const CommentsModal = (await import('@/components/CommentsModal.vue')).default
    return (await mountApp(CommentsModal, { props: { generation: generation({ comment_count: 3 }) }, signedIn: me() })).wrapper
  }
  const buttons = (wrapper, label) => wrapper.findAll('button').filter((b) => b.text() === label)

  it('saves an edit in place and marks it edited; replies keep their place', async () => {
    const fetch = edits({
      'PATCH /api/v1/comments/1': (r) => ok(comment({ content: r.json.content, is_edited: true, replies: null })),
      'PATCH /api/v1/comments/2': (r) => ok(comment({ id: 2, parent_id: 1, content: r.json.content, is_edited: true })),
    })
    const wrapper = await open()
    expect(wrapper.findAll('[data-test="edit-comment"]')).toHaveLength(2) // mine and my reply, not theirs
    await wrapper.findAll('[data-test="edit-comment"]')[0].trigger('click')
    const form = wrapper.get('[data-test="edit-comment-form"]')
    expect(form.get('textarea').element.value).toBe('Lovely')
    expect(document.activeElement).toBe(form.get('textarea').element)
    await form.get('textarea').setValue('  Lovely light  ')
    await form.trigger('submit')
    await flushPromises()
    expect(fetch.requests.find((r) => r.method === 'PATCH').json).toEqual({ content: 'Lovely light' })
    expect(wrapper.find('[data-test="edit-comment-form"]').exists()).toBe(false)
    expect(wrapper.findAll('[data-test="comment-content"]').map((p) => p.text())).toEqual(['Lovely light', 'My reply', 'Not mine'])
    expect(wrapper.findAll('[data-test="comment-edited"]')).toHaveLength(1)

    await wrapper.findAll('[data-test="edit-comment"]')[1].trigger('click')
    await wrapper.get('[data-test="edit-comment-form"] textarea').setValue('My better reply')
    await wrapper.get('[data-test="edit-comment-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.findAll('[data-test="comment-content"]')[1].text()).toBe('My better reply')
    expect(wrapper.findAll('[data-test="comment-edited"]')).toHaveLength(2)
  })

  it('cancels without a request, and an unchanged text sends nothing', async () => {
    const fetch = edits({})
    const wrapper = await open()
    await wrapper.get('[data-test="edit-comment"]').trigger('click')
    await wrapper.get('[data-test="edit-comment-form"] textarea').setValue('Something else')
    await buttons(wrapper.get('[data-test="edit-comment-form"]'), 'Cancel')[0].trigger('click')
    expect(wrapper.findAll('[data-test="comment-content"]')[0].text()).toBe('Lovely')
    await wrapper.get('[data-test="edit-comment"]').trigger('click')
    expect(wrapper.get('[data-test="edit-comment-form"] textarea').element.value).toBe('Lovely')
    await wrapper.get('[data-test="edit-comment-form"] textarea').trigger('keydown', { key: 'Escape' })
    expect(wrapper.find('[data-test="edit-comment-form"]').exists()).toBe(false)
    expect(wrapper.emitted('close')).toBeUndefined() // that Escape closed the edit, not the dialog
    await wrapper.get('[data-test="edit-comment"]').trigger('click')
    await wrapper.get('[data-test="edit-comment-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.find('[data-test="edit-comment-form"]').exists()).toBe(false)
    expect(fetch.requests.filter((r) => r.method === 'PATCH')).toHaveLength(0)
  })

  it('keeps the form and the draft when the server refuses, and says why', async () => {
    edits({ 'PATCH /api/v1/comments/1': fail(422, 'VALIDATION_ERROR', 'Comments are 1 to 1000 characters.') })
    const wrapper = await open()
    await wrapper.get('[data-test="edit-comment"]').trigger('click')
    await wrapper.get('[data-test="edit-comment-form"] textarea').setValue('Rejected text')
    await wrapper.get('[data-test="edit-comment-form"]').trigger('submit')
    await flushPromises()
    const form = wrapper.get('[data-test="edit-comment-form"]')
    expect(form.get('[role="alert"]').text()).toBe('Comments are 1 to 1000 characters.')
    expect(form.get('textarea').element.value).toBe('Rejected text')
    expect(wrapper.find('[data-test="comment-edited"]').exists()).toBe(false)
  })
})

describe('public profile: following an artist', () => {
  const artistProfile = (overrides = {}) =>
    publicProfile({ id: 3, username: 'jiwoo', artist: { artist_name: '한지우', follower_count: 4 }, stats: { public_generations: 3, followers: 4, following: 0, style: null }, ...overrides })

  it('follows and unfollows, updating the follower count', async () => {
    fakeApi({
      'GET /api/v1/auth/me': ok(me()),
      ...CSRF,
      'GET /api/v1/users/3': ok(artistProfile({ followed_by_me: false })),
      'POST /api/v1/users/3/follow': ok({ user_id: 3, following: true, follower_count: 5 }),
      'DELETE /api/v1/users/3/follow': ok({ user_id: 3, following: false, follower_count: 4 }),
    })
    const { wrapper } = await mountApp(Host, { url: '/users/3' })
    const button = () => wrapper.get('[data-test="follow"]')
    expect(button().text()).toBe('Follow')
    expect(button().attributes('aria-pressed')).toBe('false')
    await button().trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test="followers"]').text()).toBe('5')
    expect(button().attributes('aria-pressed')).toBe('true')
    await button().trigger('mouseenter')
    expect(button().text()).toBe('Unfollow')
    await button().trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test="followers"]').text()).toBe('4')
    expect(button().text()).toBe('Follow')
  })

  it('shows that I already follow them, from followed_by_me', async () => {
    fakeApi({ 'GET /api/v1/auth/me': ok(me()), 'GET /api/v1/users/3': ok(artistProfile({ followed_by_me: true })) })
    const { wrapper } = await mountApp(Host, { url: '/users/3' })
    expect(wrapper.get('[data-test="follow"]').attributes('aria-pressed')).toBe('true')
    expect(wrapper.get('[data-test="follow"]').text()).toBe('Following')
  })

  it('keeps the button as it was when the API refuses', async () => {
    fakeApi({ 'GET /api/v1/auth/me': ok(me()), ...CSRF, 'GET /api/v1/users/3': ok(artistProfile()), 'POST /api/v1/users/3/follow': fail(500, 'INTERNAL_ERROR') })
    const { wrapper } = await mountApp(Host, { url: '/users/3' })
    await wrapper.get('[data-test="follow"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test="follow"]').attributes('aria-pressed')).toBe('false') // no followed_by_me: not following
    expect(wrapper.get('[data-test="follow"]').attributes('disabled')).toBeUndefined()
    expect(wrapper.get('[data-test="followers"]').text()).toBe('4')
  })

  it('is not offered on your own profile or to visitors', async () => {
    fakeApi({ ...signedOut, 'GET /api/v1/users/3': ok(publicProfile({ id: 3, artist: { artist_name: '한지우', follower_count: 4 } })) })
    const { wrapper } = await mountApp(Host, { url: '/users/3' })
    expect(wrapper.find('[data-test="follow"]').exists()).toBe(false)
  })
})

describe('style and image pages: what I already like and whom I follow', () => {
  const styleDetail = (artist = {}) =>
    trainedStyle({ artist: { user_id: 3, artist_name: '한지우', username: 'jiwoo', ...artist } })
  const image = (overrides = {}) => ({
    id: 41, status: 'completed', user_id: 3, style: { id: 9, title: 'Ink Harbour', artist_user_id: 3, artist_name: '한지우' },
    prompt_tags: ['boat'], description: null, aspect_ratio: '1:1', width: 512, height: 512, seed: 1, cost_tokens: 10,
    is_public: true, image_url: '/media/g/41.png', thumbnail_url: null, like_count: 2, comment_count: 0, progress: null,
    queue: null, attempts: 1, error_code: null, created_at: '2026-11-27T10:00:00Z', completed_at: '2026-11-27T10:01:00Z', ...overrides,
  })

  it('the style page follows its artist from followed_by_me', async () => {
    fakeApi({
      'GET /api/v1/auth/me': ok(me()),
      ...CSRF,
      'GET /api/v1/styles/9': ok(styleDetail({ followed_by_me: true })),
      'DELETE /api/v1/users/3/follow': ok({ user_id: 3, following: false, follower_count: 4 }),
    })
    const { wrapper } = await mountApp(Host, { url: '/styles/9' })
    const button = () => wrapper.get('[data-test="style-detail"] [data-test="follow"]')
    expect(button().attributes('aria-pressed')).toBe('true')
    await button().trigger('click')
    await flushPromises()
    expect(button().attributes('aria-pressed')).toBe('false')
  })

  it('the style page offers no follow button to visitors or to the artist', async () => {
    fakeApi({ ...signedOut, 'GET /api/v1/styles/9': ok(styleDetail()) })
    let { wrapper } = await mountApp(Host, { url: '/styles/9' })
    expect(wrapper.get('[data-test="style-detail"]').find('[data-test="follow"]').exists()).toBe(false)
    wrapper.unmount()
    fakeApi({ 'GET /api/v1/auth/me': ok(me({ id: 3, role: 'artist' })), 'GET /api/v1/styles/9': ok(styleDetail()) })
    ;({ wrapper } = await mountApp(Host, { url: '/styles/9' }))
    expect(wrapper.get('[data-test="style-detail"]').find('[data-test="follow"]').exists()).toBe(false)
  })

  it('the image page shows my like from liked_by_me and takes it back', async () => {
    const fetch = fakeApi({
      'GET /api/v1/auth/me': ok(me()),
      ...CSRF,
      'GET /api/v1/generations/41': ok(image({ liked_by_me: true })),
      'DELETE /api/v1/generations/41/like': ok({ generation_id: 41, liked: false, like_count: 1 }),
    })
    const { wrapper } = await mountApp(Host, { url: '/generations/41' })
    const like = () => wrapper.get('[data-test="like"]')
    expect(like().attributes('aria-pressed')).toBe('true')
    expect(like().attributes('aria-label')).toBe('Unlike')
    await like().trigger('click')
    await flushPromises()
    expect(fetch.requests.filter((r) => r.path.endsWith('/like')).map((r) => r.method)).toEqual(['DELETE'])
    expect(like().attributes('aria-pressed')).toBe('false')
    expect(wrapper.get('[data-test="like-count"]').text()).toBe('1')
  })

  it('a feed tile shows that I like it', async () => {
    fakeApi({ 'GET /api/v1/auth/me': ok(me()), 'GET /api/v1/feed': page([generation({ liked_by_me: true }), generation({ id: 22 })]) })
    const { wrapper } = await mountApp(Host, { url: '/' })
    expect(wrapper.get('[data-test="generation-21"] [data-test="like"]').attributes('aria-pressed')).toBe('true')
    expect(wrapper.get('[data-test="generation-22"] [data-test="like"]').attributes('aria-pressed')).toBe('false')
  })
})

describe('search page', () => {
  it('searches from the URL, pages a list, and shows whom I follow', async () => {
    const styles = { results: [{ ...style, matched_by: 'name' }], next_cursor: 's2', has_more: true }
    const artists = { results: [{ ...artist, matched_by: 'username' }], next_cursor: null, has_more: false }
    fakeApi({
      'GET /api/v1/auth/me': ok(me()),
      'GET /api/v1/styles': (r) =>
        r.query.following !== 'true'
          ? page([])
          : r.query.cursor === 'f2'
            ? page([trainedStyle({ id: 11, title: 'Night Market' })])
            : page([trainedStyle()], { has_more: true, next_cursor: 'f2' }),
      'GET /api/v1/search': (r) =>
        r.query.type === 'styles'
          ? ok({ styles: { results: [{ ...style, id: 10, title: 'Ink Harbour II', matched_by: 'tag' }], next_cursor: null, has_more: false }, artists: null })
          : r.query.q === 'zzz'
            ? ok({ styles: { results: [], next_cursor: null, has_more: false }, artists: { results: [], next_cursor: null, has_more: false } })
            : ok({ styles, artists }),
    })
    const { wrapper, router } = await mountApp(Host, { url: '/search?q=ink' })
    const results = () => wrapper.get('[data-test="search-results"]')
    expect(results().text()).toContain('Ink Harbour')
    expect(results().text()).toContain('Matches the username')
    await results().findAll('button').find((b) => b.text() === 'More').trigger('click')
    await flushPromises()
    expect(results().text()).toContain('Ink Harbour II')
    const following = () => wrapper.get('[data-test="following"]')
    expect(following().text()).toContain('Styles of artists you follow')
    expect(following().get('[data-test="style-9"]').text()).toContain('한지우')
    await following().findAll('button').find((b) => b.text() === 'Load more').trigger('click')
    await flushPromises()
    expect(following().findAll('a').map((a) => a.attributes('data-test'))).toEqual(['style-9', 'style-11'])

    await wrapper.get('[data-test="search-form"] input').setValue('zzz')
    await wrapper.get('[data-test="search-form"]').trigger('submit')
    await flushPromises()
    expect(router.currentRoute.value.query.q).toBe('zzz')
    expect(wrapper.text()).toContain('Nothing found for “zzz”')
  })

  it('has no following section for visitors', async () => {
    const fetch = fakeApi({ ...signedOut, 'GET /api/v1/styles': page([]) })
    const { wrapper } = await mountApp(Host, { url: '/search' })
    expect(wrapper.find('[data-test="following"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="search-results"]').exists()).toBe(false)
    expect(fetch.requests.filter((r) => r.query.following)).toEqual([])
  })

  it('says when the artists I follow have no styles, and recovers from an error', async () => {
    let followed = fail(500, 'INTERNAL_ERROR', 'Down.')
    fakeApi({ 'GET /api/v1/auth/me': ok(me()), 'GET /api/v1/styles': (r) => (r.query.following ? followed : page([])) })
    const { wrapper } = await mountApp(Host, { url: '/search' })
    const following = () => wrapper.get('[data-test="following"]')
    expect(following().get('[role="alert"]').text()).toContain('Down.')
    followed = page([])
    await following().get('[role="alert"] button').trigger('click')
    await flushPromises()
    expect(following().text()).toContain('No styles from artists you follow yet.')
  })
})

describe('notifications page and bell', () => {
  it('lists notifications, marks one and all read, and the badge follows', async () => {
    let unread = 2
    fakeApi({
      'GET /api/v1/auth/me': ok(me()),
      ...CSRF,
      'GET /api/v1/notifications': () => page([notification(), notification({ id: 2, type: 'like', message: 'mina liked your image.' })], { unread_count: unread }),
      'PATCH /api/v1/notifications/1/read': () => {
        unread = 1
        return ok(notification({ is_read: true, read_at: 'now' }))
      },
      'POST /api/v1/notifications/read-all': ok({ marked_read: 1, unread_count: 0 }),
    })
    const App = (await import('@/App.vue')).default
    const { wrapper } = await mountApp(App, { url: '/notifications' })
    expect(wrapper.get('[data-test="unread-badge"]').text()).toBe('2')
    expect(wrapper.get('[data-test="notifications"]').text()).toContain('mina liked your image.')
    await wrapper.get('[data-test="mark-read"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test="unread-badge"]').text()).toBe('1')
    await wrapper.get('[data-test="read-all"]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-test="unread-badge"]').exists()).toBe(false)
    expect(wrapper.findAll('[data-test="mark-read"]')).toHaveLength(0)
  })

  it('has an empty state', async () => {
    fakeApi({ 'GET /api/v1/auth/me': ok(me()), 'GET /api/v1/notifications': page([], { unread_count: 0 }) })
    const { wrapper } = await mountApp(Host, { url: '/notifications' })
    expect(wrapper.text()).toContain('No notifications')
  })
})
