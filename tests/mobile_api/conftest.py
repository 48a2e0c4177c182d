"""The request-log and rate-limit tests use the booking tests' world (users with real tokens, a
window)."""

from __future__ import annotations

from tests.accounts.tokens_helper import token_factory  # noqa: F401
from tests.booking.conftest import _booking_app, world  # noqa: F401
