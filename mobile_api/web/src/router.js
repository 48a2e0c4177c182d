// Client routes; their first path segments are the history fallback of
// mobile_api/web/__init__.py (CLIENT_ROUTES): keep the two lists equal.
import { createRouter, createWebHistory } from 'vue-router'
import Home from './views/Home.vue'

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
]

export const router = createRouter({
  history: createWebHistory(),
  routes,
  scrollBehavior: (_to, _from, saved) => saved || { top: 0 },
})

router.afterEach((to) => {
  document.title = to.meta.title === '政务服务地图' ? '政务服务地图' : `${to.meta.title} · 政务服务地图`
})
