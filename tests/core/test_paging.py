"""Cursors: what encode_cursor writes, decode_cursor reads back exactly, for every kind of key
a search makes (distances down to the smallest and up to half the Earth, relevance scores
below zero, ids up to the largest API id)."""

from __future__ import annotations

import math
import random

import pytest

from backend.core.errors import InvalidInput
from backend.core.ids import MAX_API_ID
from backend.core.paging import decode_cursor, encode_cursor


def _keys() -> list[dict]:
    draw = random.Random(20261207)
    keys = [{"o": "i", "i": 1}, {"o": "i", "i": MAX_API_ID}, {"o": "d", "d": 0.0, "i": 7},
            {"o": "d", "d": 5e-05, "i": 2}, {"o": "d", "d": 1e-300, "i": 3},
            {"o": "d", "d": 20_040_000.0, "i": 4}, {"o": "r", "d": -0.0, "i": 5},
            {"o": "r", "d": -1e-7, "i": 6}]
    for _ in range(2000):
        order = draw.choice("dr")
        distance = 10 ** draw.uniform(-12, 7.3) * (-1 if order == "r" and draw.random() < .5
                                                   else 1)
        keys.append({"o": order, "d": distance, "i": draw.randint(1, MAX_API_ID)})
    return keys


@pytest.mark.parametrize("key", _keys()[:8] + _keys()[8::97])
def test_cursor__encoded_then_decoded__the_same_key(key: dict) -> None:
    decoded = decode_cursor(encode_cursor(key), key["o"])
    assert decoded == key
    if "d" in key:
        assert math.copysign(1, decoded["d"]) == math.copysign(1, key["d"])


def test_cursor__every_drawn_key__round_trips_and_no_other_order_reads_it() -> None:
    for key in _keys():
        cursor = encode_cursor(key)
        assert decode_cursor(cursor, key["o"]) == key
        other = "r" if key["o"] == "d" else "d"
        with pytest.raises(InvalidInput):
            decode_cursor(cursor, other)
