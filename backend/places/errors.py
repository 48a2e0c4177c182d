"""Expected refusals of editing places: answered in the mutation's payload, all at once."""

from __future__ import annotations

from dataclasses import dataclass

from backend.core.errors import PayloadError

# code → default Chinese message; apps switch on the code.
MESSAGES = {
    "NOT_FOUND": "未找到",
    "INVALID_INPUT": "输入无效",
    "STALE_VERSION": "该地点已被他人修改，请刷新后重试",
    "OUTSIDE_REGION": "位置不在所填的区县内",
    "OUTSIDE_SERVICE_AREA": "位置不在本平台的服务范围内",
    "INVALID_LOCATION": "坐标无效",
    "INVALID_REGION": "区县代码无效",
    "INVALID_NAME": "名称无效",
    "INVALID_ADDRESS": "地址无效",
    "INVALID_PHONE": "电话号码格式不正确",
    "INVALID_OPENING_HOURS": "营业时间格式不正确",
    "INVALID_ATTRIBUTE": "场所属性无效",
    "DUPLICATE_EXTERNAL_ID": "该来源下已有相同编号的地点",
    "ALREADY_ARCHIVED": "该地点已停用",
    "NOT_ARCHIVED": "该地点未停用",
    "WARNINGS_NOT_ACKNOWLEDGED": "请确认提示后再提交",
    # residents' reports (纠错): backend/places/reports.py
    "REPORT_ALREADY_OPEN": "您对该地点的纠错正在处理中，请勿重复提交",
    "REPORT_CLOSED": "该纠错已处理",
    "REVISION_NOT_AFTER_REPORT": "请选择纠错提交之后对该地点的修改",
}

# Warnings: they do not refuse a change, but it is written only once the editor confirms them
# by sending their codes in `acknowledge`.
WARNINGS = {
    "DUPLICATE_SUSPECTED": "附近已有名称相近或地址相同的地点，可能重复",
    "LARGE_MOVE": "位置移动超过 2 公里",
}


class PlaceError(PayloadError):
    messages = MESSAGES


class PlaceErrors(PlaceError):
    """Several refusals of one change, answered together (each field's problem at once)."""

    def __init__(self, errors: list[PlaceError]) -> None:
        first = errors[0]
        super().__init__(first.code, first.message, first.field)
        self.errors = errors


def raise_all(errors: list[PlaceError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise PlaceErrors(errors)


@dataclass(frozen=True)
class PlaceWarning:
    """A warning of a change: its code, the field it is about, a Chinese message."""

    code: str
    message: str
    field: str | None = None
