"""The parsed-document cache: bounded in bytes by an estimate that is never below what a
parsed document really keeps, so an attack of distinct large documents leaves memory flat."""

from __future__ import annotations

import dataclasses
import gc
import tracemalloc

from backend.app import create_app
from backend.schema.schema import schema as service_schema
from graphql import get_introspection_query
from mobile_api.graphql.documents import DocumentCache, estimated_bytes, prepare
from tests.helpers import OPERATIONS_DIR, error_codes, gql
from tests.mobile_api.graphql.test_limits import alias_bomb

SCHEMA = service_schema.graphql_schema


def _kept_bytes(text: str) -> int:
    """What preparing `text` keeps allocated, measured by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        prepared = prepare(SCHEMA, text, max_tokens=100_000)
        gc.collect()
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert prepared.document is not None
    return kept


def test_documents__estimate_never_below_what_a_document_keeps() -> None:
    texts = [path.read_text(encoding="utf-8") for path in sorted(OPERATIONS_DIR.glob("*.graphql"))]
    texts += [get_introspection_query(), alias_bomb(60), alias_bomb(600)]
    for text in texts:
        prepare(SCHEMA, text, max_tokens=100_000)  # graphql-core's one-time caches first
    for text in texts:
        prepared = prepare(SCHEMA, text, max_tokens=100_000)
        assert _kept_bytes(text) <= estimated_bytes(text, prepared.document), text[:60]


def test_documents__cache_keeps_recent_documents_within_its_bytes() -> None:
    texts = [f"{{ a{i:03d}: serviceItemCategories }}" for i in range(50)]
    one = estimated_bytes(texts[0], prepare(SCHEMA, texts[0], 2000).document)
    cache = DocumentCache(max_bytes=10 * one)
    for text in texts[:10]:
        cache.get(text, lambda text=text: prepare(SCHEMA, text, 2000))
    assert len(cache) == 10
    calls = []

    def counted(text: str):  # noqa: ANN202
        calls.append(text)
        return prepare(SCHEMA, text, 2000)

    cache.get(texts[0], lambda: counted(texts[0]))  # a hit: not prepared again
    assert calls == []
    for text in texts[10:]:
        cache.get(text, lambda text=text: prepare(SCHEMA, text, 2000))
        assert cache.bytes <= cache.max_bytes
    assert len(cache) == 10
    cache.get(texts[1], lambda: counted(texts[1]))  # evicted long ago
    assert calls == [texts[1]]


def test_documents__a_document_larger_than_the_budget_is_not_kept() -> None:
    cache = DocumentCache(max_bytes=100_000)
    text = alias_bomb(100)
    cache.get(text, lambda: prepare(SCHEMA, text, 100_000))
    assert len(cache) == 0
    assert cache.bytes == 0


def _memory_growth(client, salts: range, size: int) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for salt in salts:
            body = gql(client, alias_bomb(size, salt=f"s{salt}_"))
            assert error_codes(body) == ["QUERY_TOO_COMPLEX"], body
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return after - before


def test_documents__forty_alias_documents_leave_memory_flat(demo_app, demo_client) -> None:
    # 40 distinct ~230 KB documents: refused while parsing (token limit), nothing large kept.
    assert len(alias_bomb(4500)) > 230_000
    gql(demo_client, alias_bomb(4500, salt="warm"))
    growth = _memory_growth(demo_client, range(40), 4400)
    print(f"\n40 alias documents of 230 KB: {growth / 1e6:.2f} MB kept")
    assert growth < 1_000_000


def test_documents__forty_alias_documents_leave_memory_flat_without_token_limit(demo_app
                                                                                 ) -> None:
    # Even when parsing lets them through (refused by the alias limit after parsing), the
    # cache keeps no more than its budget.
    budget = 8 * 1024**2
    settings = dataclasses.replace(demo_app.extensions["servicemap"].settings,
                                   graphql_max_tokens=5000,
                                   graphql_document_cache_bytes=budget)
    app = create_app(settings)
    client = app.test_client()
    gql(client, alias_bomb(200, salt="warm"))
    growth = _memory_growth(client, range(40), 200)
    print(f"\n40 parsed alias documents of 11 KB: {growth / 1e6:.2f} MB kept")
    assert growth < budget + 1_000_000
