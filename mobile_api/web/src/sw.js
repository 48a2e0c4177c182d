// The service worker (/sw.js): the app shell works offline, and the places and guides last
// viewed are kept. Booking data (slots, appointments, the inbox) is never answered from the
// cache: offline, those requests fail and the app says so instead of showing stale data.
const VERSION = self.__VERSION__
const SHELL = self.__SHELL__
const SHELL_CACHE = `shell-${VERSION}`
const DATA_CACHE = 'data-v1'
// Documents whose last answer may be shown offline (marked X-Servicemap-Offline: 1).
const KEPT = new Set(['PlaceSheet', 'ServiceItemGuide', 'FindPlaces', 'SearchServiceItems',
  'Regions'])
const KEPT_MAX = 60

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL))
    .then(() => self.skipWaiting()))
})

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(names
    .filter((name) => name.startsWith('shell-') && name !== SHELL_CACHE)
    .map((name) => caches.delete(name)))).then(() => self.clients.claim()))
})

async function networkFirst(request, key, cacheName) {
  const cache = await caches.open(cacheName)
  try {
    const response = await fetch(request)
    if (response.ok) await cache.put(key, response.clone())
    return response
  } catch (error) {
    const cached = await cache.match(key)
    if (!cached) throw error
    const headers = new Headers(cached.headers)
    headers.set('X-Servicemap-Offline', '1')
    return new Response(await cached.blob(), { status: cached.status, headers })
  }
}

async function trim(cache) {
  const keys = await cache.keys()
  await Promise.all(keys.slice(0, Math.max(0, keys.length - KEPT_MAX)).map((k) => cache.delete(k)))
}

async function graphql(request) {
  const body = await request.clone().text()
  let payload
  try {
    payload = JSON.parse(body)
  } catch {
    return fetch(request)
  }
  if (!KEPT.has(payload.operationName) || request.headers.get('Authorization')) {
    return fetch(request)
  }
  // A POST cannot be a cache key: the document's name and variables make a GET-shaped one.
  const key = new Request(`/__kept/${payload.operationName}?v=${encodeURIComponent(
    JSON.stringify(payload.variables || {}))}`)
  const response = await networkFirst(request, key, DATA_CACHE)
  caches.open(DATA_CACHE).then(trim)
  return response
}

self.addEventListener('fetch', (event) => {
  const request = event.request
  const url = new URL(request.url)
  if (url.origin !== self.location.origin) return
  if (url.pathname === '/graphql' && request.method === 'POST') {
    event.respondWith(graphql(request))
    return
  }
  if (request.method !== 'GET') return
  if (request.mode === 'navigate') {
    // Always the newest index.html when online; the kept shell offline.
    event.respondWith(fetch(request).catch(() => caches.match('/', { cacheName: SHELL_CACHE })))
    return
  }
  if (url.pathname.startsWith('/assets/') || url.pathname.startsWith('/icons/')) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request).then((response) => {
      const copy = response.clone()
      if (response.ok) caches.open(SHELL_CACHE).then((cache) => cache.put(request, copy))
      return response
    })))
    return
  }
  if (url.pathname === '/m/v1/config' || url.pathname === '/m/v1/regions.geojson' ||
      url.pathname === '/manifest.webmanifest') {
    event.respondWith(networkFirst(request, request, DATA_CACHE))
  }
})

// A push (FCM web) while the app is closed: show it; a tap opens the inbox.
self.addEventListener('push', (event) => {
  let data = {}
  try {
    data = event.data ? event.data.json() : {}
  } catch {
    data = {}
  }
  const note = data.notification || {}
  event.waitUntil(self.registration.showNotification(note.title || '政务服务地图', {
    body: note.body || '', tag: note.tag, lang: 'zh-CN', icon: '/icons/icon-192.png' }))
})

self.addEventListener('notificationclick', (event) => {
  event.notification.close()
  event.waitUntil(self.clients.openWindow('/messages'))
})
