import { createApp } from 'vue'
// Vant's styles come with each component that is used (its style/index), not all of them;
// its base first, so that style.css (the theme, 长辈模式) overrides it.
import 'vant/es/style/base.css'
import './style.css'
import App from './App.vue'
import { onSignInNeeded } from './lib/api.js'
import { applySettings } from './lib/settings.js'
import { router } from './router.js'

applySettings()
onSignInNeeded(() => {
  const here = router.currentRoute.value
  if (here.name !== 'signin') router.push({ name: 'signin', query: { next: here.fullPath } })
})
createApp(App).use(router).mount('#app')

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register('/sw.js').catch(() => {})
}
