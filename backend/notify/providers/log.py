"""The development provider: writes what it would push to the log and reports it sent."""

from __future__ import annotations

import itertools
import logging

from backend.config import Settings
from backend.notify.providers.base import PushMessage, PushResult

log = logging.getLogger("servicemap.push")


class LogProvider:
    name = "log"
    max_batch = 500

    def __init__(self) -> None:
        self._numbers = itertools.count(1)

    @classmethod
    def from_settings(cls, settings: Settings) -> LogProvider:
        return cls()

    def send(self, messages: list[PushMessage]) -> list[PushResult]:
        results = []
        for message in messages:
            message_id = f"log-{message.notification_id}-{next(self._numbers)}"
            # Neither the device token (not even a prefix) nor the body or data: they carry
            # check-in codes. Enough to see that a push went out, and of what kind.
            log.info("push %s → %s device: %s (%d characters, data %s)", message_id,
                     message.platform, message.title, len(message.body),
                     sorted(message.data or {}))
            results.append(PushResult.sent(message_id))
        return results

    def close(self) -> None:
        pass
