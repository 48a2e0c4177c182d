// The edit form's data, kept apart from the screen so it can be tested: a place as form
// values, the PlaceInput of what the editor changed (only that is sent, so re-applying it on
// a newer version after STALE_VERSION keeps the other editor's changes), and a revision's
// changes as rows for the diff.
import { KIND_NAMES } from '../../lib/format.js'

export const FIELD_LABELS = {
  name: '名称', kind: '类型', address: '地址', phone: '电话', location: '位置',
  regionCode: '所在区县', openingHours: '营业时间', clinicLevel: '医院等级',
  crossProvinceSettlement: '跨省直接结算', beds: '床位总数', availableBeds: '空余床位',
  acceptsNonLocal: '接收异地老人', careLevels: '照护等级', externalId: '来源编号',
  source: '数据来源', archived: '停用', archivedReason: '停用原因', serviceItems: '可办事项',
}

export const CRS_LABELS = { WGS84: 'WGS-84（GPS）', GCJ02: 'GCJ-02（高德、腾讯）', BD09: 'BD-09（百度）' }
export const PRECISION_LABELS = {
  ROOFTOP: '门牌', STREET: '道路', POI: '兴趣点', DISTRICT: '区县', CITY: '城市',
  APPROXIMATE: '大致位置', INTERPOLATED: '插值',
}

const TEXT_FIELDS = ['name', 'address', 'phone', 'openingHours', 'clinicLevel', 'externalId', 'source']
const NUMBER_FIELDS = ['beds', 'availableBeds']
const FLAG_FIELDS = ['crossProvinceSettlement', 'acceptsNonLocal']

// Three-state flags in a <select>: '' (not said), 'true', 'false'.
function flag(value) {
  return value === true ? 'true' : value === false ? 'false' : ''
}

export function emptyForm(regionCode = '') {
  return {
    name: '', kind: 'SERVICE_HALL', address: '', phone: '', openingHours: '', regionCode,
    lat: '', lon: '', crs: 'WGS84', clinicLevel: '', crossProvinceSettlement: '',
    beds: '', availableBeds: '', acceptsNonLocal: '', careLevels: '', externalId: '', source: '',
  }
}

export function formFromPlace(place) {
  return {
    name: place.name || '', kind: place.kind, address: place.address || '',
    phone: place.phone || '', openingHours: place.openingHours || '',
    regionCode: place.region?.code || '',
    lat: String(place.location.lat), lon: String(place.location.lon), crs: 'WGS84',
    clinicLevel: place.clinic?.level || '',
    crossProvinceSettlement: flag(place.clinic?.crossProvinceSettlement),
    beds: place.elderlyCare?.beds ?? '', availableBeds: place.elderlyCare?.availableBeds ?? '',
    acceptsNonLocal: flag(place.elderlyCare?.acceptsNonLocal),
    careLevels: (place.elderlyCare?.careLevels || []).join('、'),
    externalId: place.externalId || '', source: place.source || '',
  }
}

function same(a, b) {
  return String(a ?? '') === String(b ?? '')
}

// The fields the editor changed (form keys; lat/lon/crs count as "location").
export function changedKeys(original, form) {
  const keys = Object.keys(form).filter((key) => !['lat', 'lon', 'crs'].includes(key) && !same(original[key], form[key]))
  if (!same(original.lat, form.lat) || !same(original.lon, form.lon) || original.crs !== form.crs) keys.push('location')
  return keys
}

// The PlaceInput of the changed fields (of every filled field for a new place).
export function placeInput(original, form, { creating = false } = {}) {
  const keys = creating ? [...Object.keys(form).filter((k) => !same(form[k], '')), 'location'] : changedKeys(original, form)
  const input = {}
  for (const key of keys) {
    if (TEXT_FIELDS.includes(key)) input[key] = form[key].trim()
    else if (NUMBER_FIELDS.includes(key)) input[key] = form[key] === '' ? null : Number(form[key])
    else if (FLAG_FIELDS.includes(key)) input[key] = form[key] === '' ? null : form[key] === 'true'
    else if (key === 'careLevels') input.careLevels = form.careLevels.split(/[、,，;；\s]+/).filter(Boolean)
    else if (key === 'location') input.location = { lat: Number(form.lat), lon: Number(form.lon), crs: form.crs }
    else if (key === 'kind' || key === 'regionCode') input[key] = form[key]
  }
  if (creating && !input.source) delete input.source
  return input
}

// After STALE_VERSION: the newer place's values with the editor's changes on top.
export function reapply(fresh, original, form) {
  const merged = { ...fresh }
  for (const key of changedKeys(original, form)) {
    if (key === 'location') Object.assign(merged, { lat: form.lat, lon: form.lon, crs: form.crs })
    else merged[key] = form[key]
  }
  return merged
}

function shown(field, json) {
  if (json === null || json === undefined) return '（空）'
  let value
  try { value = JSON.parse(json) } catch { return json }
  if (value === null || value === '') return '（空）'
  if (field === 'kind') return KIND_NAMES[value] || value
  if (field === 'location' && typeof value === 'object') return `${value.lat.toFixed(6)}, ${value.lon.toFixed(6)}`
  if (typeof value === 'boolean') return value ? '是' : '否'
  if (Array.isArray(value)) return value.length ? value.join('、') : '（空）'
  return String(value)
}

// A revision's changes as rows: { field, label, old, new } in words.
export function diffRows(changes) {
  return changes.map((change) => ({
    field: change.field,
    label: FIELD_LABELS[change.field] || change.field,
    old: shown(change.field, change.old),
    new: shown(change.field, change.new),
  }))
}

export const ACTION_LABELS = {
  create: '新建', update: '修改', archive: '停用', restore: '恢复', items: '可办事项',
  import: '导入', revert: '恢复到旧版本',
}

// A typed point (lat, lon in `crs`) on a map drawn in `datum`. The closed-form forward
// formulas inverted by fixed-point iteration: good to centimetres, enough to draw the
// marker; the API converts what is saved itself.
export function toDatum(lat, lon, crs, datum, fromWgs84) {
  if (crs === datum) return [lat, lon]
  let wgs = [lat, lon]
  if (crs !== 'WGS84') {
    for (let i = 0; i < 30; i += 1) {
      const [y, x] = fromWgs84(wgs[0], wgs[1], crs)
      wgs = [wgs[0] - (y - lat), wgs[1] - (x - lon)]
    }
  }
  return fromWgs84(wgs[0], wgs[1], datum)
}

export function round6(value) {
  return String(Math.round(value * 1e6) / 1e6)
}
