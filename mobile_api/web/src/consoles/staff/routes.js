// The staff console's screens (children of /staff in src/router.js), each its own chunk.
export const staffSections = [
  { to: '/staff/today', label: '今日预约' },
  { to: '/staff/week', label: '号源周视图' },
  { to: '/staff/templates', label: '排班模板' },
]

export const staffRoutes = [
  // (its own path: an empty child path would mark 今日预约 active on every screen)
  { path: '', redirect: { name: 'staff-today' } },
  { path: 'today', name: 'staff-today', component: () => import('./TodayQueue.vue'), meta: { title: '今日预约' } },
  { path: 'week', name: 'staff-week', component: () => import('./WeekSlots.vue'), meta: { title: '号源周视图' } },
  { path: 'templates', name: 'staff-templates', component: () => import('./ScheduleTemplates.vue'),
    meta: { title: '排班模板' } },
]
