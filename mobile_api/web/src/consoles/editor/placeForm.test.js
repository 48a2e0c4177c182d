import { describe, expect, it } from 'vitest'
import { changedKeys, diffRows, emptyForm, formFromPlace, placeInput, reapply } from './placeForm.js'

const PLACE = {
  name: '西湖区政务服务中心', kind: 'SERVICE_HALL', address: '文三路 1 号', phone: null,
  openingHours: 'Mo-Fr 09:00-17:00', region: { code: '330106' },
  location: { lat: 30.27, lon: 120.15 }, clinic: null, elderlyCare: null,
  externalId: 'x-1', source: 'amap',
}

describe('the place form', () => {
  it('sends only what the editor changed', () => {
    const original = formFromPlace(PLACE)
    const form = { ...original, openingHours: 'Mo-Sa 09:00-17:00', phone: ' 0571-8888 ' }
    expect(placeInput(original, form)).toEqual({ openingHours: 'Mo-Sa 09:00-17:00', phone: '0571-8888' })
    expect(placeInput(original, original)).toEqual({})
  })

  it('sends the point with its datum when it moved or the datum changed', () => {
    const original = formFromPlace(PLACE)
    expect(placeInput(original, { ...original, crs: 'GCJ02' })).toEqual(
      { location: { lat: 30.27, lon: 120.15, crs: 'GCJ02' } })
    expect(changedKeys(original, { ...original, lat: '30.3' })).toEqual(['location'])
  })

  it('turns numbers, flags and lists into their types; empty clears', () => {
    const original = emptyForm('330106')
    const form = { ...original, kind: 'ELDERLY_CARE', beds: '120', acceptsNonLocal: 'false', careLevels: '自理、半失能' }
    expect(placeInput(original, form)).toMatchObject(
      { kind: 'ELDERLY_CARE', beds: 120, acceptsNonLocal: false, careLevels: ['自理', '半失能'] })
  })

  it('sends every filled field and the point for a new place', () => {
    const form = { ...emptyForm('330106'), name: '新大厅', lat: '30.2', lon: '120.1' }
    expect(placeInput(emptyForm('330106'), form, { creating: true })).toEqual({
      name: '新大厅', kind: 'SERVICE_HALL', regionCode: '330106',
      location: { lat: 30.2, lon: 120.1, crs: 'WGS84' } })
  })

  it('re-applies the editor\'s changes on the newer version', () => {
    const original = formFromPlace(PLACE)
    const fresh = { ...original, phone: '0571-1234' }
    const form = { ...original, openingHours: 'Mo-Su 08:00-20:00' }
    expect(reapply(fresh, original, form)).toMatchObject({ phone: '0571-1234', openingHours: 'Mo-Su 08:00-20:00' })
  })

  it('shows a revision field by field, in words', () => {
    expect(diffRows([
      { field: 'openingHours', old: '"Mo-Fr 09:00-17:00"', new: '"Mo-Sa 09:00-17:00"' },
      { field: 'location', old: '{"lat": 30.27, "lon": 120.15}', new: '{"lat": 30.3, "lon": 120.2}' },
      { field: 'phone', old: 'null', new: '"0571"' },
      { field: 'kind', old: '"CLINIC"', new: '"SERVICE_HALL"' },
    ])).toEqual([
      { field: 'openingHours', label: '营业时间', old: 'Mo-Fr 09:00-17:00', new: 'Mo-Sa 09:00-17:00' },
      { field: 'location', label: '位置', old: '30.270000, 120.150000', new: '30.300000, 120.200000' },
      { field: 'phone', label: '电话', old: '（空）', new: '0571' },
      { field: 'kind', label: '类型', old: '医疗机构', new: '通办窗口' },
    ])
  })
})
