// Routes: setup and login are public; everything else lives in the shell and
// comes from the navigation config. The guard sends a fresh install to setup
// and a signed-out browser to login.
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { findPage, homePage, navAreas, pageVisible } from '@/nav'
import { useSessionStore } from '@/stores/session'

const shellChildren: RouteRecordRaw[] = navAreas.flatMap((area) => [
  ...area.pages.map((page) => ({
    path: page.path,
    name: page.name,
    component: page.component,
    meta: { title: page.title, area: area.key },
  })),
  ...(area.routes ?? []).map((r) => ({ ...r, meta: { ...r.meta, area: area.key } }) as RouteRecordRaw),
])

const routes: RouteRecordRaw[] = [
  { path: '/setup', name: 'setup', component: () => import('@/views/SetupView.vue'), meta: { public: true } },
  { path: '/login', name: 'login', component: () => import('@/views/LoginView.vue'), meta: { public: true } },
  {
    path: '/',
    component: () => import('@/layouts/ShellLayout.vue'),
    redirect: { name: homePage.name },
    children: shellChildren,
  },
  { path: '/:pathMatch(.*)*', redirect: '/' },
]

export const router = createRouter({ history: createWebHistory(), routes })

router.beforeEach(async (to) => {
  const session = useSessionStore()
  await session.init()
  if (session.setupNeeded) return to.name === 'setup' ? true : { name: 'setup' }
  if (to.name === 'setup') return session.me ? '/' : { name: 'login' }
  if (to.meta.public) return session.me && to.name === 'login' ? '/' : true
  if (!session.me) {
    const redirect = to.fullPath !== '/' ? to.fullPath : undefined
    return { name: 'login', query: redirect ? { redirect } : {} }
  }
  const page = findPage(to.name)
  if (page && !pageVisible(page, session)) return { name: homePage.name }
  return true
})
