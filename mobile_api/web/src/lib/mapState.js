// The map's datum: with no tile layer the map is drawn in WGS-84 over our own region outlines;
// with MAP_TILE_URL it is drawn in MAP_TILE_CRS (GCJ-02 tiles need GCJ-02 positions). Every
// position the map shows or asks about is in that datum, and the API is told so.
import { fromWgs84 } from './crs.js'

export const CRS_VALUES = ['WGS84', 'GCJ02', 'BD09']
export const MIN_ZOOM = 5
export const MAX_ZOOM = 18
export const DEFAULT_VIEW = { center: [31.23, 121.47], zoom: 9 } // Shanghai, WGS-84

export function mapDatum(config) {
  const map = config?.map || {}
  if (!map.tileUrl) return 'WGS84'
  return CRS_VALUES.includes(map.tileCrs) ? map.tileCrs : 'WGS84'
}

export function tileLayer(config) {
  const map = config?.map || {}
  if (!map.tileUrl) return null
  return { url: map.tileUrl, attribution: map.attribution || '', crs: mapDatum(config) }
}

export function outlinesUrl(datum, level = 'CITY') {
  return `/m/v1/regions.geojson?level=${level}&crs=${datum}`
}

// Leaflet's LatLngBounds (or any {getSouth, …}) → BBoxInput in the map's datum, clamped to
// the world and rounded (so a map that did not move sends the same request).
export function bboxInput(bounds, datum) {
  const round = (value) => Math.round(value * 1e5) / 1e5
  const clamp = (value, low, high) => Math.min(high, Math.max(low, value))
  return {
    south: round(clamp(bounds.getSouth(), -85, 85)),
    west: round(clamp(bounds.getWest(), -180, 180)),
    north: round(clamp(bounds.getNorth(), -85, 85)),
    east: round(clamp(bounds.getEast(), -180, 180)),
    crs: datum,
  }
}

// The variables of MapClusters for a view: the API answers centres and boxes in the datum too.
export function clusterQuery(bounds, zoom, datum, kinds) {
  return {
    bbox: bboxInput(bounds, datum),
    zoom: Math.max(0, Math.min(20, Math.round(zoom))),
    kinds: kinds && kinds.length ? kinds : null,
    crs: datum,
  }
}

// Where the map opens: on the phone's fix, else on the city cluster the resident picked, else
// on Shanghai. [center (in the map's datum), zoom].
export function initialView(where, datum) {
  if (where.coords) return [phonePosition(where.coords, datum), 13]
  const cluster = where.cluster
  if (cluster?.centre) return [fromWgs84(cluster.centre.lat, cluster.centre.lon, datum), cluster.zoom]
  return [fromWgs84(DEFAULT_VIEW.center[0], DEFAULT_VIEW.center[1], datum), DEFAULT_VIEW.zoom]
}

// The phone's WGS-84 fix (navigator.geolocation) as drawn on the map.
export function phonePosition(coords, datum) {
  return fromWgs84(coords.latitude, coords.longitude, datum)
}

// A cluster's marker: one place opens its card; several zoom into their box.
export function clusterAction(cluster) {
  if (cluster.count === 1 && cluster.placeId) return { open: cluster.placeId }
  const box = cluster.bbox
  return { fit: [[box.south, box.west], [box.north, box.east]] }
}
