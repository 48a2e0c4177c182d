"""What the dispatcher hands a push provider, and what it gets back.

A provider turns messages into pushes of one kind (FCM, APNs direct, a vendor's push, SMS) and
says per message how it went; the dispatcher decides what that means for the outbox. Adding a
provider is a module here and a line in PUSH_PROVIDERS (backend.config)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol


@dataclass(frozen=True)
class PushMessage:
    notification_id: int
    token: str
    platform: str                  # android | ios | web
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)
    # Messages about one appointment replace each other on the phone.
    collapse_key: str | None = None
    # How long it stays worth showing (a reminder: until its appointment begins); None: the
    # provider's default.
    ttl: timedelta | None = None
    # High priority: wakes the phone now (urgent notices, the last reminder).
    high_priority: bool = False


class Outcome(enum.Enum):
    SENT = "sent"
    TOKEN_GONE = "token_gone"      # the token is dead or not ours: forget it, do not retry
    RETRY = "retry"                # transient: try again later
    REJECTED = "rejected"          # the message itself was refused: retrying cannot help


@dataclass(frozen=True)
class PushResult:
    outcome: Outcome
    message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None     # seconds the provider asked us to wait

    @classmethod
    def sent(cls, message_id: str) -> PushResult:
        return cls(Outcome.SENT, message_id=message_id)


class PushProvider(Protocol):
    name: str
    max_batch: int

    def send(self, messages: list[PushMessage]) -> list[PushResult]:
        """One result per message, in order. Per-message failures are results, not
        exceptions; an exception means nothing is known to have been sent (all retried)."""
        ...

    def close(self) -> None:
        ...
