"""Fuzzing the GraphQL API with schemathesis (GraphQL mode, hypothesis-graphql underneath):
documents generated from the schema for every root field, sent to a real gunicorn server on
the demo data, anonymously and signed in as an admin (who reaches the most resolvers). No
answer may be an HTTP 5xx or carry an INTERNAL_SERVER_ERROR: bad input is the client's error
(BAD_USER_INPUT, NOT_FOUND, …), never a server error. Derandomized, so CI repeats the same
documents; bounded to FUZZ_EXAMPLES per root field and FUZZ_SECONDS per identity (about a
minute in all on 2 cores)."""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Iterator
from itertools import product

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.graphql import nodes

from backend.accounts.dev_token import emulator_token
from tests.app_server import DEVELOPMENT_ENV, PROJECT, gunicorn_server, seeded_demo_database

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
# The deadline of each identity's run: on a machine too busy to fuzz every root field by
# then, the rest are left out with a warning naming them (CI must stay under 2 minutes).
SECONDS = float(os.environ.get("FUZZ_SECONDS", "45"))
ADMIN_UID = "fuzz-admin"


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples, derandomize=True, database=None, deadline=None,
        # no shrinking: the failing document is reported as it was sent, and shrinking a slow
        # server's failure could take longer than the whole run
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


# Documents that fit the schema, then fewer that break it on purpose (wrong argument types,
# missing required ones): those must be refused as the client's error, too.
MODES = {GenerationMode.POSITIVE: _settings(EXAMPLES),
         GenerationMode.NEGATIVE: _settings(max(1, EXAMPLES // 3))}

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
    sent, failures, left_out = 0, [], []
    deadline = time.monotonic() + SECONDS
    for result, mode in product(schema.get_all_operations(), MODES):
        operation = result.ok()
        if time.monotonic() > deadline:
            left_out.append(f"{operation.label} ({mode})")
            continue

        @MODES[mode]
        @given(case=operation.as_strategy(generation_mode=mode))
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
            failures.append(f"{operation.label} ({mode}): {error}")
    if left_out:
        warnings.warn(f"fuzzing stopped at its deadline ({SECONDS:g} s); left out: "
                      + ", ".join(left_out), stacklevel=2)
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
