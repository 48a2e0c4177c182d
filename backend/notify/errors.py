"""Expected refusals of device and inbox operations: answered in the mutation's payload."""

from __future__ import annotations

from backend.core.errors import PayloadError

MESSAGES = {
    "NOT_FOUND": "未找到",
    "INVALID_INPUT": "输入无效",
}


class NotifyError(PayloadError):
    messages = MESSAGES
