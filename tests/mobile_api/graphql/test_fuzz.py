"""Fuzzing the GraphQL API with schemathesis (GraphQL mode, hypothesis-graphql underneath):
documents generated from the schema for every root field, sent to a real gunicorn server on
the demo data, anonymously and signed in as an admin (who reaches the most resolvers). No
answer may be an HTTP 5xx or carry an INTERNAL_SERVER_ERROR: bad input is the client's error
(BAD_USER_INPUT, NOT_FOUND, …), never a server error. Derandomized, so CI repeats the same
documents; bounded to FUZZ_EXAMPLES per root field (about a minute on 2 busy cores)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from backend.accounts.dev_token import emulator_token
from tests.app_server import DEVELOPMENT_ENV, PROJECT, gunicorn_server, seeded_demo_database

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
ADMIN_UID = "fuzz-admin"
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
    # no shrinking: the failing document is reported as it was sent, and shrinking a slow
    # server's failure could take longer than the whole run
    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))

# Our scalars schemathesis has no strategy for: JSONString (upsertServiceItem's item) as any JSON
# text, Upload (importPlaces' file, only valid as a variable) as any string literal.
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                           max_leaves=10)
schemathesis.graphql.scalar("JSONString", JSON_VALUES.map(
    lambda value: nodes.String(json.dumps(value, ensure_ascii=False))))
schemathesis.graphql.scalar("Upload", st.text(max_size=40).map(nodes.String))


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = seeded_demo_database(tmp_path_factory.mktemp("fuzz"),
                               ["accounts", "grant", "--uid", ADMIN_UID, "--role", "admin"])
    # Free documents (the fuzzer's own) and no rate limits: one client sends many requests.
    env = {**DEVELOPMENT_ENV, "TRUSTED_DOCUMENTS_ONLY": "0", "RATE_LIMITS_ENABLED": "0",
           "WEB_CONCURRENCY": "1"}
    with gunicorn_server(url, env, threads=2) as base:
        yield base


def server_errors(response: requests.Response) -> str | None:
    """Why the answer is a server error, or None."""
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}, not a JSON object"
    internal = [e for e in errors if (e.get("extensions") or {}).get("code")
                == "INTERNAL_SERVER_ERROR"]
    return f"INTERNAL_SERVER_ERROR at {[e.get('path') for e in internal]}" if internal else None


def fuzz(base: str, headers: dict[str, str]) -> tuple[int, list[str]]:
    """Every root field's generated documents; (requests sent, one line per failing field)."""
    schema = schemathesis.graphql.from_url(base + "/graphql", headers=headers, timeout=30)
    session = requests.Session()
    sent, failures = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy())
        def check(case) -> None:  # noqa: ANN001
            nonlocal sent
            response = case.call(session=session, headers=headers, timeout=30)
            sent += 1
            why = server_errors(response)
            if why:
                raise AssertionError(f"{why}\nrequest:\n{case.body}\n"
                                     f"answer: {response.text[:500]}")

        try:
            check()
        except AssertionError as error:
            failures.append(f"{operation.label}: {error}")
    return sent, failures


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "admin"])
def test_fuzz__generated_documents__no_server_error(fuzz_server: str, signed_in: bool):
    headers = {"Authorization": f"Bearer {emulator_token(ADMIN_UID, PROJECT)}"} \
        if signed_in else {}
    # when
    sent, failures = fuzz(fuzz_server, headers)
    # then
    assert sent > EXAMPLES * 10
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
