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
            log.info("push %s → %s %s…: %s — %s %s", message_id, message.platform,
                     message.token[:12], message.title, message.body, message.data)
            results.append(PushResult.sent(message_id))
        return results

    def close(self) -> None:
        pass
