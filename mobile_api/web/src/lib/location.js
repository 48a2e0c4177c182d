// The phone's position (WGS-84, as the Geolocation API gives it), or the city cluster and city
// the resident picked when the permission was refused. Shared by the list, the guide and the map.
import { reactive } from 'vue'

const KEY = 'servicemap.region'
const CLUSTER_KEY = 'servicemap.cluster'

function stored(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || 'null')
  } catch {
    return null
  }
}

export const place = reactive({ coords: null, status: 'idle', region: stored(KEY),
                                cluster: stored(CLUSTER_KEY) })

export function locate({ timeout = 8000 } = {}) {
  if (place.coords) return Promise.resolve(place.coords)
  if (!('geolocation' in navigator)) {
    place.status = 'failed'
    return Promise.resolve(null)
  }
  place.status = 'locating'
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (position) => {
        place.coords = { latitude: position.coords.latitude, longitude: position.coords.longitude }
        place.status = 'located'
        resolve(place.coords)
      },
      (error) => {
        place.status = error.code === 1 ? 'denied' : 'failed'
        resolve(null)
      },
      { enableHighAccuracy: false, timeout, maximumAge: 300_000 },
    )
  })
}

function remember(key, value) {
  if (value) localStorage.setItem(key, JSON.stringify(value))
  else localStorage.removeItem(key)
}

// A city and the cluster it was picked in ({code, name, centre: {lat, lon}, zoom}, WGS-84).
export function chooseRegion(region, cluster = null) {
  place.region = region
  place.cluster = cluster
  remember(KEY, region)
  remember(CLUSTER_KEY, cluster)
}

// What FindPlaces needs to know where the resident is: near (WGS-84) or a region.
export function whereVariables() {
  if (place.coords) {
    return { near: { lat: place.coords.latitude, lon: place.coords.longitude, crs: 'WGS84' } }
  }
  if (place.region) return { regionCode: place.region.code }
  return {}
}
