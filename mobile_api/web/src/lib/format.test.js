import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { MESSAGES, messageFor } from './errors.js'
import { distance, hoursInWords, openingLine } from './format.js'

describe('words for the API', () => {
  it('every error code of the schema has a Chinese message', () => {
    const schema = readFileSync(new URL('../../../../graphql/schema.graphql', import.meta.url), 'utf8')
    const codes = schema.match(/enum UserErrorCode \{([^}]*)\}/)[1].trim().split(/\s+/)
    expect(codes.length).toBeGreaterThan(5)
    for (const code of codes) expect(MESSAGES[code], code).toMatch(/[\u4e00-\u9fff]/)
    expect(messageFor('SOMETHING_NEW')).toBe('操作未成功，请稍后重试')
  })

  it('every code the GraphQL endpoint itself answers with has a Chinese message', () => {
    // refusals and failures decided outside the resolvers (mobile_api/graphql/*.py)
    const folder = new URL('../../../graphql/', import.meta.url)
    const codes = new Set(readdirSync(folder).filter((file) => file.endsWith('.py'))
      .flatMap((file) => [...readFileSync(new URL(file, folder), 'utf8')
        .matchAll(/"([A-Z]+(?:_[A-Z]+)+)"/g)].map((match) => match[1])))
    codes.delete('MAX_CONTENT_LENGTH') // Flask's setting, not a code
    expect(codes.has('SERVICE_UNAVAILABLE') && codes.has('QUERY_TOO_COMPLEX')).toBe(true)
    for (const code of codes) expect(MESSAGES[code], code).toMatch(/[\u4e00-\u9fff]/)
  })

  it('opening hours in words', () => {
    expect(hoursInWords('Mo-Fr 09:00-12:00,13:30-17:00; Sa 09:00-12:00; PH off'))
      .toBe('周一至周五 09:00-12:00、13:30-17:00；周六 09:00-12:00；法定节假日休息')
    expect(hoursInWords('Mo-Su 08:00-17:00')).toBe('周一至周日 08:00-17:00；法定节假日休息')
    expect(hoursInWords('Mo-Fr 09:00-17:00; "by appointment"')).toBe('Mo-Fr 09:00-17:00; "by appointment"')
    expect(hoursInWords(null)).toBe('营业时间未知')
  })

  it('opening state and distance', () => {
    const now = new Date('2026-12-05T05:00:00Z') // Saturday 13:00 in Beijing
    expect(openingLine({ isOpen: false, nextOpenAt: '2026-12-07T09:00:00+08:00' }, now))
      .toBe('休息中 · 12月7日（周一） 09:00开门')
    expect(openingLine({ isOpen: true, closesAt: '2026-12-05T17:00:00+08:00' }, now)).toBe('营业中 · 今天 17:00结束')
    expect(distance(850.4)).toBe('850 米')
    expect(distance(12_345)).toBe('12 公里')
    expect(distance(2_345)).toBe('2.3 公里')
  })
})
