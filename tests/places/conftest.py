"""The editing tests use the booking tests' world (halls in Hangzhou and Nanjing, windows,
slots, users with real tokens: residents, staff, an editor of Hangzhou, an admin)."""

from __future__ import annotations

from tests.accounts.tokens_helper import token_factory  # noqa: F401
from tests.booking.conftest import _booking_app, world  # noqa: F401
