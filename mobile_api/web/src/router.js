// Client routes; their first path segments are the history fallback of
// mobile_api/web/__init__.py (CLIENT_ROUTES): keep the two lists equal.
import { createRouter, createWebHistory } from 'vue-router'
import Home from './views/Home.vue'
import { adminRoutes } from './consoles/admin/routes.js'
import { editorRoutes } from './consoles/editor/routes.js'
import { staffRoutes } from './consoles/staff/routes.js'

export const routes = [
  { path: '/', name: 'home', component: Home, meta: { title: '政务服务地图' } },
  { path: '/map', name: 'map', component: () => import('./views/MapView.vue'), meta: { title: '地图' } },
  { path: '/places/:id', name: 'place', component: () => import('./views/Place.vue'), meta: { title: '场所详情' } },
  { path: '/items', name: 'items', component: () => import('./views/Items.vue'), meta: { title: '办事指南' } },
  { path: '/items/:id', name: 'guide', component: () => import('./views/Guide.vue'), meta: { title: '线上导办' } },
  { path: '/book/:placeId', name: 'book', component: () => import('./views/Book.vue'), meta: { title: '预约先办' } },
  { path: '/me', name: 'me', component: () => import('./views/Me.vue'), meta: { title: '我的预约' } },
  { path: '/messages', name: 'messages', component: () => import('./views/Messages.vue'), meta: { title: '消息中心' } },
  { path: '/signin', name: 'signin', component: () => import('./views/SignIn.vue'), meta: { title: '登录' } },
  // The consoles (desktop, no tab bar): their code is in their own chunks, never in the
  // resident's download nor in the service worker's shell (vite.config.js).
  // Each console's screens are in its routes.js (src/consoles/<console>/).
  { path: '/staff', component: () => import('./consoles/staff/StaffConsole.vue'),
    meta: { title: '窗口工作台', console: 'staff' }, children: staffRoutes },
  { path: '/editor', component: () => import('./consoles/editor/EditorConsole.vue'),
    meta: { title: '内容编辑台', console: 'editor' }, children: editorRoutes },
  { path: '/admin', component: () => import('./consoles/admin/AdminConsole.vue'),
    meta: { title: '管理后台', console: 'admin' }, children: adminRoutes },
]

export const router = createRouter({
  history: createWebHistory(),
  routes,
  scrollBehavior: (_to, _from, saved) => saved || { top: 0 },
})

router.afterEach((to) => {
  document.title = to.meta.title === '政务服务地图' ? '政务服务地图' : `${to.meta.title} · 政务服务地图`
})
