"""The development push provider writes what it would push, minus what must stay private."""

from __future__ import annotations

import logging

import pytest

from backend.notify.providers.base import Outcome, PushMessage
from backend.notify.providers.log import LogProvider


def test_log_provider__a_push__no_token_prefix_no_body_no_code(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO)
    token = "fcm-device-token-0123456789abcdef"
    message = PushMessage(notification_id=7, platform="web", token=token,
                          title="预约成功",
                          body="预约成功，核验码 K7Q2ZP。请携带所需材料按时到达。",
                          data={"code": "K7Q2ZP", "appointmentId": "3"})
    [result] = LogProvider().send([message])
    assert result.outcome is Outcome.SENT
    assert "预约成功" in caplog.text and "appointmentId" in caplog.text
    for secret in (token[:8], "K7Q2ZP"):
        assert secret not in caplog.text
