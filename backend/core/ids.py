"""API ids: the integer primary keys as strings (32-bit INTEGER in both stores)."""

from __future__ import annotations

import re

API_ID = re.compile(r"[1-9][0-9]{0,9}")
MAX_API_ID = 2**31 - 1


def api_id(value: object) -> int | None:
    """The key an API id names, or None for an id no row can have."""
    text = str(value)
    if not API_ID.fullmatch(text) or int(text) > MAX_API_ID:
        return None
    return int(text)
