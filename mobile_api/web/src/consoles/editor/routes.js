// The editor console's screens (children of /editor in src/router.js), each its own chunk.
export const editorSections = [
  { to: '/editor', label: '地点' },
  { to: '/editor/reports', label: '居民纠错' },
  { to: '/editor/import', label: '批量导入' },
  { to: '/editor/items', label: '事项与指南' },
]

export const editorRoutes = [
  { path: '', name: 'editor-places', component: () => import('./PlaceList.vue'), meta: { title: '地点' } },
  { path: 'places/new', name: 'editor-place-new', component: () => import('./PlaceEdit.vue'), meta: { title: '新建地点' } },
  { path: 'places/:id', name: 'editor-place', component: () => import('./PlaceEdit.vue'), meta: { title: '编辑地点' } },
  { path: 'reports', name: 'editor-reports', component: () => import('./PlaceReports.vue'), meta: { title: '居民纠错' } },
  { path: 'import', name: 'editor-import', component: () => import('./ImportPlaces.vue'), meta: { title: '批量导入' } },
  { path: 'items', name: 'editor-items', component: () => import('./ServiceItems.vue'), meta: { title: '事项与指南' } },
]
