// Words for what the API answers in codes and numbers.
export const KIND_NAMES = { SERVICE_HALL: '通办窗口', CLINIC: '医疗机构', ELDERLY_CARE: '养老机构' }
export const MODE_NAMES = { FULLY_ONLINE: '全程网办', PROXY: '异地代收代办', MULTI_PLACE: '多地联办' }
export const STATUS_NAMES = {
  BOOKED: '已预约', CHECKED_IN: '已签到', COMPLETED: '已办结', CANCELLED: '已取消',
  NO_SHOW: '未到场',
}
const WEEKDAYS = ['周日', '周一', '周二', '周三', '周四', '周五', '周六']
const DAY_CODES = { Mo: '周一', Tu: '周二', We: '周三', Th: '周四', Fr: '周五', Sa: '周六', Su: '周日' }

export function distance(meters) {
  if (meters == null) return ''
  if (meters < 1000) return `${Math.round(meters)} 米`
  return `${(meters / 1000).toFixed(meters < 10_000 ? 1 : 0)} 公里`
}

// Beijing wall-clock parts of an ISO time with offset (the API answers +08:00).
function beijing(iso) {
  const date = new Date(iso)
  const shifted = new Date(date.getTime() + 8 * 3600_000)
  return { y: shifted.getUTCFullYear(), m: shifted.getUTCMonth() + 1, d: shifted.getUTCDate(),
           w: shifted.getUTCDay(), hh: String(shifted.getUTCHours()).padStart(2, '0'),
           mm: String(shifted.getUTCMinutes()).padStart(2, '0') }
}

export function dateKey(iso) {
  const t = beijing(iso)
  return `${t.y}-${String(t.m).padStart(2, '0')}-${String(t.d).padStart(2, '0')}`
}

export function clock(iso) {
  const t = beijing(iso)
  return `${t.hh}:${t.mm}`
}

export function dayLabel(iso, now = new Date()) {
  const t = beijing(iso)
  const today = dateKey(now.toISOString())
  const tomorrow = dateKey(new Date(now.getTime() + 86_400_000).toISOString())
  const key = dateKey(iso)
  if (key === today) return '今天'
  if (key === tomorrow) return '明天'
  return `${t.m}月${t.d}日（${WEEKDAYS[t.w]}）`
}

export function when(iso, now = new Date()) {
  return `${dayLabel(iso, now)} ${clock(iso)}`
}

// "营业中 · 12:00 结束" / "休息中 · 周一 09:00 开门" — words, never a colour alone.
export function openingLine(status, now = new Date()) {
  if (!status) return '营业时间未知'
  if (status.isOpen) return status.closesAt ? `营业中 · ${when(status.closesAt, now)}结束` : '营业中'
  return status.nextOpenAt ? `休息中 · ${when(status.nextOpenAt, now)}开门` : '休息中'
}

function days(selector) {
  return selector.split(',').map((part) => {
    const [from, to] = part.split('-')
    if (from === 'PH') return '法定节假日'
    if (to) return `${DAY_CODES[from] || from}至${DAY_CODES[to] || to}`
    return DAY_CODES[from] || from
  }).join('、')
}

// OpenStreetMap opening_hours in words for the common forms; anything else is shown as it is.
export function hoursInWords(expression) {
  if (!expression) return '营业时间未知'
  if (expression.trim() === '24/7') return '全天营业（法定节假日休息）'
  const rules = expression.split(';').map((rule) => rule.trim()).filter(Boolean)
  const words = rules.map((rule) => {
    const match = rule.match(/^((?:Mo|Tu|We|Th|Fr|Sa|Su|PH)(?:[-,](?:Mo|Tu|We|Th|Fr|Sa|Su|PH))*)\s+(.+)$/)
    if (!match) return null
    const [, selector, times] = match
    if (times === 'off' || times === 'closed') return `${days(selector)}休息`
    if (!/^\d{2}:\d{2}-\d{2}:\d{2}(,\d{2}:\d{2}-\d{2}:\d{2})*$/.test(times)) return null
    return `${days(selector)} ${times.split(',').join('、')}`
  })
  if (words.includes(null)) return expression
  if (!/PH/.test(expression)) words.push('法定节假日休息')
  return words.join('；')
}
