import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { fromWgs84, wgs84ToGcj02 } from './crs.js'
import { bboxInput, clusterAction, clusterQuery, DEFAULT_VIEW, initialView, mapDatum, outlinesUrl, phonePosition, tileLayer } from './mapState.js'

const bounds = (south, west, north, east) => ({
  getSouth: () => south, getWest: () => west, getNorth: () => north, getEast: () => east })

describe('the map datum', () => {
  it('is WGS-84 over our own outlines when no tile layer is configured', () => {
    expect(mapDatum({ map: { tileUrl: null, tileCrs: 'GCJ02' } })).toBe('WGS84')
    expect(tileLayer({ map: {} })).toBeNull()
    expect(mapDatum(null)).toBe('WGS84')
  })

  it('follows the tile layer: GCJ-02 tiles make every request GCJ-02', () => {
    const config = { map: { tileUrl: 'https://t/{z}/{x}/{y}.png', tileCrs: 'GCJ02', attribution: '© 图商' } }
    const datum = mapDatum(config)
    expect(datum).toBe('GCJ02')
    expect(tileLayer(config)).toEqual({ url: 'https://t/{z}/{x}/{y}.png', attribution: '© 图商', crs: 'GCJ02' })
    const query = clusterQuery(bounds(30.1, 120.0, 30.4, 120.3), 11.4, datum, [])
    expect(query).toEqual({ bbox: { south: 30.1, west: 120, north: 30.4, east: 120.3, crs: 'GCJ02' },
                            zoom: 11, kinds: null, crs: 'GCJ02' })
    expect(outlinesUrl(datum)).toBe('/m/v1/regions.geojson?level=CITY&crs=GCJ02')
  })

  it('refuses an unknown datum instead of sending it', () => {
    expect(mapDatum({ map: { tileUrl: 'https://t/{z}/{x}/{y}', tileCrs: 'EPSG:3857' } })).toBe('WGS84')
  })

  it('clamps and rounds the window (a world-wide view is still a valid BBoxInput)', () => {
    expect(bboxInput(bounds(-89.9, -200, 89.9, 200.123456), 'WGS84'))
      .toEqual({ south: -85, west: -180, north: 85, east: 180, crs: 'WGS84' })
    expect(clusterQuery(bounds(0, 0, 1, 1), 25, 'WGS84', ['CLINIC']).zoom).toBe(20)
  })

  it('draws the phone (WGS-84 fix) in the map datum', () => {
    const coords = { latitude: 31.1774276, longitude: 121.5272106 }
    expect(phonePosition(coords, 'WGS84')).toEqual([31.1774276, 121.5272106])
    const [lat, lon] = phonePosition(coords, 'GCJ02')
    expect(lat).toBeCloseTo(31.17530398364597, 6)
    expect(lon).toBeCloseTo(121.531541859215, 6)
  })

  it('opens a single place, zooms into a cluster', () => {
    expect(clusterAction({ count: 1, placeId: '7', bbox: {} })).toEqual({ open: '7' })
    expect(clusterAction({ count: 9, placeId: null, bbox: { south: 1, west: 2, north: 3, east: 4 } }))
      .toEqual({ fit: [[1, 2], [3, 4]] })
  })
})

describe('datum conversion against the shared reference vectors', () => {
  const path = new URL('../../../../../shared/testdata/crs_vectors.csv', import.meta.url)
  let rows = []
  try {
    rows = readFileSync(path, 'utf8').split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('source'))
      .map((l) => l.split(',')).filter((r) => r[1] === 'WGS84' && (r[2] === 'GCJ02' || r[2] === 'BD09'))
  } catch {
    rows = [['fallback', 'WGS84', 'GCJ02', '31.1774276', '121.5272106', '31.17530398364597', '121.531541859215', '0.000001']]
  }
  it.each(rows)('%s %s→%s (%s, %s)', (_s, _from, to, lat, lon, outLat, outLon, tolerance) => {
    const [gotLat, gotLon] = fromWgs84(Number(lat), Number(lon), to)
    expect(Math.abs(gotLat - Number(outLat))).toBeLessThanOrEqual(Math.max(Number(tolerance), 1e-6))
    expect(Math.abs(gotLon - Number(outLon))).toBeLessThanOrEqual(Math.max(Number(tolerance), 1e-6))
  })

  it('does not shift points outside China', () => {
    expect(wgs84ToGcj02(48.8566, 2.3522)).toEqual([48.8566, 2.3522])
  })
})

describe('where the map opens', () => {
  const chengyu = { code: 'chengyu', name: '成渝', centre: { lat: 30.1, lon: 105.3 }, zoom: 7 }

  it('on the phone, at street level, when it has a fix', () => {
    const coords = { latitude: 30.66, longitude: 104.06 }
    expect(initialView({ coords, cluster: chengyu }, 'GCJ02')).toEqual([phonePosition(coords, 'GCJ02'), 13])
  })

  it('on the picked city cluster, in the map datum, when geolocation was refused', () => {
    expect(initialView({ coords: null, cluster: chengyu }, 'WGS84')).toEqual([[30.1, 105.3], 7])
    expect(initialView({ coords: null, cluster: chengyu }, 'GCJ02')).toEqual([fromWgs84(30.1, 105.3, 'GCJ02'), 7])
  })

  it('on Shanghai when nothing is known', () => {
    expect(initialView({ coords: null, cluster: null }, 'WGS84')).toEqual([DEFAULT_VIEW.center, DEFAULT_VIEW.zoom])
  })
})
