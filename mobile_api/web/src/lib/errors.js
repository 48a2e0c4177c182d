// Every code the API can answer with, in words a resident understands (never a raw code).
export const MESSAGES = {
  // transport
  NETWORK: '网络连接失败，请检查网络后重试',
  OFFLINE: '当前处于离线状态，连上网络后重试',
  RATE_LIMITED: '操作太频繁，请稍等片刻再试',
  SERVER: '服务暂时不可用，请稍后重试',
  INTERNAL_SERVER_ERROR: '服务暂时不可用，请稍后重试',
  BAD_REQUEST: '请求有误，请刷新页面后重试',
  METHOD_NOT_ALLOWED: '请求有误，请刷新页面后重试',
  PAYLOAD_TOO_LARGE: '提交的内容太大，请缩小后重试',
  QUERY_TIMEOUT: '查询用时过长，请缩小范围后重试',
  // the database is restarting or failing over: a retry in a moment works
  SERVICE_UNAVAILABLE: '服务暂时不可用，请稍后重试',
  // requests
  UNAUTHENTICATED: '登录已过期，请重新登录',
  FORBIDDEN: '您没有权限进行此操作',
  BAD_USER_INPUT: '输入的信息有误，请检查后重试',
  GRAPHQL_PARSE_FAILED: '应用版本已更新，请刷新页面后重试',
  GRAPHQL_VALIDATION_FAILED: '应用版本已更新，请刷新页面后重试',
  TRUSTED_DOCUMENT_REQUIRED: '应用版本已更新，请刷新页面后重试',
  QUERY_TOO_COMPLEX: '查询范围太大，请缩小范围后重试',
  QUERY_TOO_DEEP: '查询范围太大，请缩小范围后重试',
  DOMAIN_ERROR: '操作未成功，请稍后重试',
  GONE: '该预约已结束，核验码已失效',
  GEOLOCATION_DENIED: '未获得定位权限，请选择所在城市',
  GEOLOCATION_FAILED: '暂时无法定位，请选择所在城市',
  // booking (UserErrorCode)
  SLOT_FULL: '这个时段刚刚约满了，请选择其他时段',
  SLOT_CLOSED: '这个时段已停止预约，请选择其他时段',
  TOO_LATE: '已过这个时段的预约截止时间，请选择更晚的时段',
  OUT_OF_HORIZON: '只能预约近两周内的时段，请选择更近的日期',
  ALREADY_BOOKED: '您当天已预约过这个事项，可在“我的预约”中查看或改约',
  LIMIT_REACHED: '您的有效预约已达上限，请先取消不需要的预约',
  ITEM_NOT_HANDLED: '这个窗口不办理该事项，请选择其他窗口',
  NOT_CANCELLABLE: '这个预约已不能取消或改约（临近开始或已结束）',
  NOT_FOUND: '没有找到相关信息，可能已被删除',
  INVALID_INPUT: '填写的信息有误，请检查后重试',
  IDEMPOTENCY_KEY_REUSED: '预约信息有变化，请重新确认后提交',
  CAPACITY_BELOW_BOOKED: '名额不能少于已预约人数',
  WRONG_DAY: '只能在预约当天签到',
  TOO_EARLY: '时段尚未开始，请稍后再试',
  INVALID_STATUS: '这个预约的状态已变化，请刷新后查看',
  SAME_SLOT: '新时段与原时段相同，请选择其他时段',
  // window staff (the staff console shows the API's own message beside it)
  NOT_CLOSED: '该时段未停约，无需重新开放',
  SLOT_STARTED: '时段已开始，不能再开放预约',
  COUNT_CHANGED: '待标记爽约的人数已变化，请刷新后重新确认',
  // editing places (UserErrorCode; the editor console shows the API's own message beside it)
  STALE_VERSION: '该地点已被他人修改，请刷新后在最新内容上修改',
  OUTSIDE_REGION: '位置不在所填的区县内，请检查坐标和坐标系',
  OUTSIDE_SERVICE_AREA: '该位置不在本平台的服务范围内',
  INVALID_LOCATION: '坐标无效，请检查经纬度',
  INVALID_REGION: '区县代码无效',
  INVALID_NAME: '名称须为 1–100 个字',
  INVALID_ADDRESS: '地址太长',
  INVALID_PHONE: '电话号码格式不正确',
  INVALID_OPENING_HOURS: '营业时间格式不正确',
  INVALID_ATTRIBUTE: '场所属性填写有误',
  DUPLICATE_EXTERNAL_ID: '该来源下已有相同编号的地点',
  ALREADY_ARCHIVED: '该地点已停用',
  NOT_ARCHIVED: '该地点未停用',
  WARNINGS_NOT_ACKNOWLEDGED: '请确认提示后再提交',
  INVALID_GUIDE: '事项或办事指南的内容有误',
  // residents' reports (纠错)
  REPORT_ALREADY_OPEN: '您已反馈过这个地点的问题，正在处理中，请耐心等待',
  REPORT_CLOSED: '这条纠错已处理',
  REVISION_NOT_AFTER_REPORT: '请先保存对该地点的修改，再标记为已解决',
  // the import's upload (multipart)
  FILE_TOO_LARGE: '文件太大，请拆分后再导入',
}

const FALLBACK = '操作未成功，请稍后重试'
// Codes a second try can cure without the resident changing anything.
const RETRYABLE = new Set(['NETWORK', 'OFFLINE', 'RATE_LIMITED', 'SERVER', 'INTERNAL_SERVER_ERROR',
  'SERVICE_UNAVAILABLE'])

export function messageFor(code) {
  return MESSAGES[code] || FALLBACK
}

export class ApiError extends Error {
  constructor(code, { field = null, status = null } = {}) {
    super(messageFor(code))
    this.code = code
    this.field = field
    this.status = status
    this.retryable = RETRYABLE.has(code)
  }
}
