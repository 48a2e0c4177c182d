"""The schema tests use the booking tests' world (halls, windows, users with real tokens) for
the documents that a signed-in resident, a window's staff or an editor send."""

from __future__ import annotations

from tests.accounts.tokens_helper import token_factory  # noqa: F401
from tests.booking.conftest import _booking_app, world  # noqa: F401
