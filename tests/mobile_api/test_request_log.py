"""The request log: one JSON line per request with the fields an operator needs, and nothing a
resident would not want written down (tokens, phone numbers, check-in codes, query strings)."""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from mobile_api.graphql.documents import document_id
from mobile_api.request_log import REQUEST_ID, BackgroundLineWriter, new_request_id, user_hash
from tests.booking.conftest import RESIDENT, STAFF, World
from tests.helpers import operation

PHONE = "+8613912345678"
BOOK = operation("BookAppointment")
CHECK_IN = operation("CheckIn")


class _Capture:
    """Every log record of every logger, formatted with its arguments, and the request lines."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setLevel(logging.DEBUG)
        self.handler.setFormatter(logging.Formatter("%(name)s %(message)s"))

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        return [json.loads(line.split(" ", 1)[1]) for line in self.text.splitlines()
                if line.startswith("servicemap.request ")]


@pytest.fixture
def captured() -> Iterator[_Capture]:
    capture = _Capture()
    root, request_logger = logging.getLogger(), logging.getLogger("servicemap.request")
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(capture.handler)
    request_logger.addHandler(capture.handler)  # it does not propagate: its own line
    yield capture
    root.removeHandler(capture.handler)
    request_logger.removeHandler(capture.handler)
    root.setLevel(old_level)


def _post(world: World, query: str, variables: dict, uid: str | None, **headers: str):
    return world.app.test_client().post(
        "/graphql", json={"query": query, "variables": variables},
        headers={**world.headers(uid), **headers})


def test_log_line__signed_in_trusted_document__its_fields(world: World, captured: _Capture):
    # when
    response = _post(world, BOOK, {"slotId": str(world.slots["a1-0900"]),
                                   "serviceItemId": str(world.item), "idempotencyKey": "log-1"},
                     RESIDENT, **{"X-Request-ID": "req-1234-abcd"})
    # then
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "req-1234-abcd"
    [line] = captured.lines()
    duration = line.pop("duration_ms")
    assert isinstance(duration, float) and 0 <= duration < 60_000
    assert line == {"request_id": "req-1234-abcd", "method": "POST", "path": "/graphql",
                    "status": 200, "operation": "BookAppointment", "document_id": document_id(BOOK),
                    "executor": "plan",  # bookAppointment: a planned mutation
                    "user": user_hash(RESIDENT, world.services.settings.log_user_salt)}


def test_log_line__errors__their_codes_and_no_user(world: World, captured: _Capture):
    # when: a refused token, and a free-text document
    _post(world, "query Mine { me { uid } }", {}, None, Authorization="Bearer not-a-token")
    world.app.test_client().post("/graphql", data="{", content_type="application/json")
    # then
    free, broken = captured.lines()
    assert free["error_codes"] == ["UNAUTHENTICATED"], free and free["operation"] == "Mine"
    assert "document_id" not in free and "user" not in free
    assert broken["error_codes"] == ["BAD_REQUEST"] and broken["status"] == 400


@pytest.mark.parametrize("incoming", ["short", "a" * 129, "bad id with spaces", '"};x{"'])
def test_request_id__invalid_incoming__replaced_by_a_new_one(world: World, captured: _Capture,
                                                             incoming: str):
    response = world.app.test_client().get("/healthz", headers={"X-Request-ID": incoming})
    assert response.headers["X-Request-ID"] != incoming
    assert [line["request_id"] for line in captured.lines()] == [response.headers["X-Request-ID"]]


def test_logs__token_phone_and_check_in_code__in_no_log_output(world: World,
                                                               captured: _Capture):
    # given: a booking (its check-in code) made before capturing
    token = world.tokens.sign(RESIDENT)
    booked = _post(world, BOOK, {"slotId": str(world.slots["a1-0900"]),
                                 "serviceItemId": str(world.item), "idempotencyKey": "log-2"},
                   RESIDENT).get_json()["data"]["bookAppointment"]["appointment"]
    code = booked["code"]
    captured.stream.truncate(0)
    captured.stream.seek(0)
    client = world.app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    # when: the code and the phone number in variables, in query strings, in a refused token
    client.post("/graphql", json={"query": CHECK_IN, "variables": {"code": code, "p": PHONE}},
                headers=world.headers(STAFF))
    client.get("/graphql?" + urlencode({"query": "query($c: String) { __typename }",
                                        "variables": json.dumps({"c": code, "p": PHONE})}),
               headers=bearer)
    client.get(f"/m/v1/appointments/{booked['id']}.ics?" + urlencode({"code": code, "p": PHONE}),
               headers=bearer)
    # (google-auth's errors quote a malformed token: "Wrong number of segments in token: …")
    for refused in (f"{token[:-6]}{code}", f"{code}.{PHONE}", f"{token}.{code}"):
        client.post("/graphql", json={"query": "{ me { uid } }"},
                    headers={"Authorization": f"Bearer {refused}"})
    # then
    assert len(captured.lines()) == 6
    for secret in (token, token[:20], token.split(".")[1][:16], PHONE, PHONE[3:], code):
        assert secret not in captured.text, secret


def test_background_writer__lines_in_order_once_each__flushed_and_written_by_a_forked_child():
    # given: a writer on a pipe-like stream, lines queued from several threads
    stream = io.StringIO()
    writer = BackgroundLineWriter(stream)
    logger = logging.getLogger("test.request_log.background")
    logger.addHandler(writer)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        def log_lines(prefix: str) -> None:
            for n in range(300):
                logger.info("%s-%03d", prefix, n)

        threads = [threading.Thread(target=log_lines, args=(p,)) for p in "abcd"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # when
        writer.flush()
        # then: every line once, each thread's lines in its order
        lines = stream.getvalue().splitlines()
        assert sorted(lines) == sorted(f"{p}-{n:03d}" for p in "abcd" for n in range(300))
        for prefix in "abcd":
            assert [line for line in lines if line[0] == prefix] == [
                f"{prefix}-{n:03d}" for n in range(300)]

        # and: a forked child (a preloaded gunicorn worker) starts its own writer thread
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: log through the inherited handler, flush at exit
            try:
                writer._stream = os.fdopen(write_end, "w")
                logger.info("from the child")
                logging.shutdown()  # what the interpreter's exit runs: flush, close
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end) as child_output:
            assert child_output.read() == "from the child\n"
        assert os.waitpid(pid, 0)[1] == 0
    finally:
        logger.removeHandler(writer)
        writer.close()


def test_new_request_id__forked_workers__each_its_own_ids():
    # A preloaded app's workers are forked from one master: each must draw other ids.
    read_end, write_end = os.pipe()
    children = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            os.write(write_end, (new_request_id() + "\n").encode())
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    os.close(write_end)
    with os.fdopen(read_end) as lines:
        ids = lines.read().split()
    ids += [new_request_id(), new_request_id()]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert all(REQUEST_ID.fullmatch(request_id) and len(request_id) == 32 for request_id in ids)
