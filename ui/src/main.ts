// Console entry point: plugins, global styles and the session-expiry handler.
import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import './styles.css'
import App from './App.vue'
import { i18n } from './i18n'
import { router } from './router'
import { onUnauthorized } from './api'
import { useSessionStore } from './stores/session'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(i18n)
app.use(router)
app.use(ElementPlus)

// Any 401 while signed in means the session ended (expired, revoked, password
// changed elsewhere): forget the user and go to the login page.
onUnauthorized(() => {
  const session = useSessionStore(pinia)
  if (!session.me) return
  session.clear()
  const current = router.currentRoute.value
  if (current.meta.public) return
  void router.push({ name: 'login', query: { reason: 'expired', redirect: current.fullPath } })
})

app.mount('#app')
