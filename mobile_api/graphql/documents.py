"""Parsed and validated documents, cached per worker within a budget of bytes.

Parsing and validating a document costs more than running most queries; both depend only
on its text, so each distinct text is prepared once. The cache is bounded by an estimate of
the memory the parsed document keeps (not by a number of entries: one large document keeps
as much as a hundred small ones)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    parse,
    specified_rules,
    validate,
)
from mobile_api.graphql.plans import Plan, build_plans

# Measured with tracemalloc over graphql/operations/*, GraphiQL's introspection query and
# alias-heavy documents (tests/mobile_api/graphql/test_documents.py checks it stays above):
# a parsed and validated document keeps at most ~300 bytes per byte of its text.
BYTES_PER_CHARACTER = 300
ENTRY_OVERHEAD = 2048


def document_id(text: str) -> str:
    """The trusted-document id of a text: `sha256:` and the hex digest of its UTF-8 bytes."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def estimated_bytes(text: str, document: DocumentNode | None) -> int:
    return ENTRY_OVERHEAD + (BYTES_PER_CHARACTER * len(text) if document is not None
                             else 2 * len(text))


@dataclass(frozen=True)
class Prepared:
    document: DocumentNode | None
    errors: list[GraphQLError]
    # Execution plans of a trusted document's queries, by operation name (plans.py).
    plans: dict[str | None, Plan] = field(default_factory=dict)
    # The limit checks it passed (limits.check_remembered).
    limit_checks: dict = field(default_factory=dict)


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    """The error with this code, unless it brings its own (a scalar refusing a literal value
    says BAD_USER_INPUT: the document is fine, the value is not)."""
    error.extensions = {"code": code, **(error.extensions or {})}
    return error


def prepare(schema: GraphQLSchema, text: str, max_tokens: int, *,
            introspection: bool = True, trusted: bool = False) -> Prepared:
    """Parse (at most `max_tokens` tokens: a huge document is refused while being read) and
    run graphql-core's standard validation (refusing introspection when it is off); a valid
    trusted document gets the execution plans of its queries."""
    try:
        document = parse(text, max_tokens=max_tokens)
    except GraphQLError as error:
        if "Document contains more than" in error.message:
            return Prepared(None, [GraphQLError(f"查询过大：超过 {max_tokens} 个词法单元",
                                                extensions={"code": "QUERY_TOO_COMPLEX"})])
        return Prepared(None, [_with_code(error, "GRAPHQL_PARSE_FAILED")])
    rules = None if introspection else (*specified_rules, NoSchemaIntrospectionCustomRule)
    errors = validate(schema, document, rules)
    if errors:
        return Prepared(document, [_with_code(error, "GRAPHQL_VALIDATION_FAILED")
                                   for error in errors])
    return Prepared(document, [], build_plans(schema, document) if trusted else {})


class DocumentCache:
    """A least-recently-used cache of prepared documents within `max_bytes` (estimated).
    Shared by a worker's threads."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[Prepared, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, text: str, make: Callable[[], Prepared]) -> Prepared:
        key = document_id(text)  # the key is 71 bytes, whatever the text's size
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry[0]
        prepared = make()  # outside the lock: two threads may prepare the same text once each
        self.put(key, text, prepared)
        return prepared

    def put(self, key: str, text: str, prepared: Prepared) -> None:
        size = estimated_bytes(text, prepared.document)
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (prepared, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped
