"""Expected refusals of booking and staff operations: answered in the mutation's payload."""

from __future__ import annotations

from backend.core.errors import PayloadError

# code → default Chinese message; apps switch on the code.
MESSAGES = {
    "SLOT_FULL": "该时段已约满，请选择其他时段",
    "SLOT_CLOSED": "该时段已停止预约",
    "TOO_LATE": "已超过预约截止时间",
    "OUT_OF_HORIZON": "超出可预约的日期范围",
    "ALREADY_BOOKED": "您当天已预约过该事项",
    "LIMIT_REACHED": "您的有效预约已达上限",
    "ITEM_NOT_HANDLED": "该窗口不办理此事项",
    "NOT_CANCELLABLE": "该预约当前不能取消或改期",
    "NOT_FOUND": "未找到",
    "INVALID_INPUT": "输入无效",
    "IDEMPOTENCY_KEY_REUSED": "该幂等键已用于另一预约请求（时段或事项不同，或办事指南的回答不同）",
    "CAPACITY_BELOW_BOOKED": "容量不能少于已预约人数",
    "WRONG_DAY": "不是当天的预约",
    "TOO_EARLY": "预约时段尚未开始",
    "INVALID_STATUS": "预约当前状态不允许此操作",
    "SAME_SLOT": "新时段与原时段相同",
    "NOT_CLOSED": "该时段未停约",
    "SLOT_STARTED": "时段已开始，不能再开放预约",
    "COUNT_CHANGED": "待标记爽约的预约数已变化，请刷新后重新确认",
}


class BookingError(PayloadError):
    messages = MESSAGES
