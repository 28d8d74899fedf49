import { createRouter, createWebHistory } from 'vue-router'
import { useAuthStore } from '@/stores/auth.js'

// Every page lives under an optional language prefix: /verify, /en/verify and /ko/verify are one page.
// Pages load on demand (one chunk each). meta.auth: signed in; meta.artist: artists only; meta.guest: signed out.
export const routes = [
  {
    path: '/:locale(en|ko)?',
    component: () => import('@/components/RouterOutlet.vue'),
    children: [
      { path: '', name: 'home', component: () => import('@/pages/HomePage.vue') },
      { path: 'sign-in', name: 'sign-in', component: () => import('@/pages/SignInPage.vue'), meta: { guest: true } },
      { path: 'me', name: 'me', component: () => import('@/pages/MyPage.vue'), meta: { auth: true } },
      {
        path: 'me/edit',
        name: 'edit-profile',
        component: () => import('@/pages/EditProfilePage.vue'),
        meta: { auth: true },
      },
      { path: 'tokens', name: 'tokens', component: () => import('@/pages/TokensPage.vue') },
      {
        path: 'payments/success',
        name: 'payment-success',
        component: () => import('@/pages/PaymentSuccessPage.vue'),
        meta: { auth: true },
      },
      { path: 'payments/fail', name: 'payment-fail', component: () => import('@/pages/PaymentFailPage.vue') },
      { path: 'verify', name: 'verify', component: () => import('@/pages/VerifyPage.vue') },
      { path: 'search', name: 'search', component: () => import('@/pages/SearchPage.vue') },
      {
        path: 'styles/new',
        name: 'create-style',
        component: () => import('@/pages/CreateStylePage.vue'),
        meta: { auth: true, artist: true },
      },
      { path: 'styles/:id(\\d+)', name: 'style', component: () => import('@/pages/StyleDetailPage.vue') },
      {
        path: 'styles/:id(\\d+)/edit',
        name: 'edit-style',
        component: () => import('@/pages/EditStylePage.vue'),
        meta: { auth: true, artist: true },
      },
      {
        path: 'notifications',
        name: 'notifications',
        component: () => import('@/pages/NotificationsPage.vue'),
        meta: { auth: true },
      },
      { path: 'generations/:id(\\d+)', name: 'generation', component: () => import('@/pages/GenerationDetailPage.vue') },
      { path: 'users/:id(\\d+)', name: 'user', component: () => import('@/pages/UserProfilePage.vue') },
      { path: ':rest(.*)*', name: 'not-found', component: () => import('@/pages/NotFoundPage.vue') },
    ],
  },
]

/**
 * Where a navigation may go, given who is signed in. Returns true, or the location to go to instead.
 * Kept apart from the router so each rule is tested on its own.
 */
export async function guard(to, auth) {
  const { auth: needsAuth, artist: needsArtist, guest } = to.meta
  if (!needsAuth && !needsArtist && !guest) {
    auth.ensureLoaded() // the header shows who is signed in; no need to wait for it here
    return true
  }
  await auth.ensureLoaded()
  const locale = to.params.locale || undefined
  if ((needsAuth || needsArtist) && !auth.isSignedIn) {
    return { name: 'sign-in', params: { locale }, query: { next: to.fullPath } }
  }
  if (needsArtist && !auth.isArtist) {
    return { name: 'edit-profile', params: { locale }, hash: '#become-artist' }
  }
  if (guest && auth.isSignedIn) {
    const next = typeof to.query.next === 'string' && to.query.next.startsWith('/') ? to.query.next : null
    return next && !next.startsWith('//') ? next : { name: 'me', params: { locale } }
  }
  return true
}

export function createAppRouter({ history = createWebHistory(), onLocale } = {}) {
  const router = createRouter({
    history,
    routes,
    scrollBehavior(to, from, saved) {
      if (saved) return saved
      if (to.hash) return { el: to.hash }
      return to.path === from.path ? undefined : { top: 0 }
    },
  })
  router.beforeEach((to) => {
    if (to.params.locale && onLocale) onLocale(to.params.locale)
    return guard(to, useAuthStore())
  })
  return router
}
