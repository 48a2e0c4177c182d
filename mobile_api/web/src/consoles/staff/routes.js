// The staff console's screens (children of /staff in src/router.js), each its own chunk.
export const staffSections = [
  { to: '/staff', label: '今日预约' },
]

export const staffRoutes = [
  { path: '', name: 'staff-today', component: () => import('./TodayQueue.vue'), meta: { title: '今日预约' } },
]
