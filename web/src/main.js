import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { useLocaleForApi } from './api/index.js'
import { applyLocale, createAppI18n, pickLocale, savedLocale } from './i18n/index.js'
import { createAppRouter } from './router/index.js'
import './styles.css'

const locale = pickLocale({
  fromUrl: window.location.pathname.split('/')[1],
  saved: savedLocale(),
  browser: navigator.languages ?? [navigator.language],
})
const i18n = createAppI18n(locale)
applyLocale(i18n, locale, { persist: false })
useLocaleForApi(() => i18n.global.locale.value)

const router = createAppRouter({ onLocale: (prefix) => applyLocale(i18n, prefix) })
const app = createApp(App).use(createPinia()).use(i18n).use(router)
router.isReady().then(() => app.mount('#app'))
