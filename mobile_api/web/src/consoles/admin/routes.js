// The admin console's screens (children of /admin in src/router.js), each its own chunk.
export const adminSections = [
  { to: '/admin', label: '授权' },
  { to: '/admin/calendar', label: '节假日' },
]

export const adminRoutes = [
  { path: '', name: 'admin-grants', component: () => import('./RoleGrants.vue'), meta: { title: '授权' } },
  { path: 'calendar', name: 'admin-calendar', component: () => import('./HolidayCalendar.vue'), meta: { title: '节假日' } },
]
