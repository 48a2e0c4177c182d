"""The soak's traffic: residents' visits through the API, every request recorded.

A visit is one resident (a new uid, so a new account) from a new address (X-Forwarded-For
through the trusted proxy 127.0.0.1, as behind a load balancer): nearby search, item search,
an item's guide; every other visit then books a slot, reads its inbox and cancels. So the rate
limits (on, in Redis) count each visit apart and refuse none of the soak's own traffic; a 429
is still counted, as its own outcome. The documents are the app's (graphql/operations/), the
server runs trusted documents only."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from booking_data import BOOKING_UID
from clients import AsyncClient
from documents import operation
from servers import FIREBASE_PROJECT
from workload import FIRST, KINDS, RADIUS_M

SOAK_SEED = 20_261_207
REQUEST_TIMEOUT_S = 30.0  # longer than this is a hang, not a clean failure
MAX_VISITS_IN_FLIGHT = 256  # beyond this the server is overloaded: visits are dropped, counted
ITEM_TEXT = "社保"


@dataclass(frozen=True)
class Sample:
    at: float  # when sent, seconds since the traffic's clock started
    op: str  # search, guide, book, inbox, cancel
    seconds: float
    outcome: str  # ok, refused (a payload error), rate_limited, failed
    code: str | None = None  # the GraphQL error code, HTTP status or transport error
    clean: bool = True  # a failure answered as a JSON GraphQL body with a code
    server_error: bool = False  # HTTP 5xx or INTERNAL_SERVER_ERROR


def classify(status: int, data: bytes) -> tuple[str, str | None, bool, bool]:
    """(outcome, code, clean, server_error) of one answer."""
    try:
        answer = json.loads(data)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return "failed", f"HTTP {status} not JSON", False, status >= 500
    codes = [(error.get("extensions") or {}).get("code") for error in answer.get("errors") or []]
    if status == 429:
        return "rate_limited", "RATE_LIMITED", True, False
    if codes or status != 200:
        code = ",".join(str(c) for c in codes) or f"HTTP {status}"
        return ("failed", code, bool(codes) and None not in codes,
                status >= 500 or "INTERNAL_SERVER_ERROR" in codes)
    payload = next(iter((answer.get("data") or {}).values()), None)
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if errors:
        return "refused", ",".join(e.get("code") or "?" for e in errors), True, False
    return "ok", None, True, False


class Traffic:
    """Visits against the API on `port`: `closed_loop` (capacity) and `open_loop` (the soak)."""

    def __init__(self, port: int, setup: dict, centres: list[tuple[float, float]]) -> None:
        from backend.accounts.dev_token import emulator_token

        self.port, self.setup, self.centres = port, setup, centres
        self.token = lambda uid: emulator_token(uid, FIREBASE_PROJECT, expires_in=7200)
        self.documents = {name: operation(name) for name in (
            "NearbyPlaces", "SearchServiceItems", "ServiceItemGuide", "BookAppointment",
            "MyNotifications", "CancelAppointment")}
        self.samples: list[Sample] = []
        self.clock = time.perf_counter()
        self.visits = self.dropped = 0

    def body(self, name: str, variables: dict) -> bytes:
        return json.dumps({"query": self.documents[name], "operationName": name,
                           "variables": variables}, ensure_ascii=False).encode()

    async def send(self, client: AsyncClient, op: str, body: bytes, token: str,
                   address: str) -> dict | None:
        """One request, recorded; the data of a successful answer."""
        sent = time.perf_counter()
        try:
            status, data = await asyncio.wait_for(
                client.post(body, token, {"X-Forwarded-For": address}), REQUEST_TIMEOUT_S)
        except TimeoutError:
            client.close()
            self.samples.append(Sample(sent - self.clock, op, time.perf_counter() - sent,
                                       "failed", "timeout", clean=False))
            return None
        except Exception as error:  # noqa: BLE001 - counted and reported
            self.samples.append(Sample(sent - self.clock, op, time.perf_counter() - sent,
                                       "failed", f"transport {type(error).__name__}",
                                       clean=False))
            return None
        outcome, code, clean, server_error = classify(status, data)
        self.samples.append(Sample(sent - self.clock, op, time.perf_counter() - sent, outcome,
                                   code, clean, server_error))
        return json.loads(data)["data"] if outcome == "ok" else None

    async def visit(self, n: int) -> None:
        rng = random.Random(SOAK_SEED + n)
        uid = f"{BOOKING_UID}soak-{n}"
        token = self.token(uid)
        address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        lat, lon = rng.choice(self.centres)
        client = AsyncClient(self.port)
        try:
            await self.send(client, "search", self.body("NearbyPlaces", {
                "near": {"lat": lat, "lon": lon}, "radiusMeters": RADIUS_M, "kinds": KINDS,
                "first": FIRST}), token, address)
            await self.send(client, "search", self.body("SearchServiceItems", {
                "text": ITEM_TEXT, "first": 10}), token, address)
            item = str(self.setup["service_item_id"])
            await self.send(client, "guide", self.body("ServiceItemGuide", {"id": item}), token,
                            address)
            if n % 2:
                return
            first, last = self.setup["slot_ids"]
            booked = await self.send(client, "book", self.body("BookAppointment", {
                "slotId": str(rng.randint(first, last)), "serviceItemId": item,
                "idempotencyKey": f"soak-{n}"}), token, address)
            await self.send(client, "inbox", self.body("MyNotifications", {"first": 10}), token,
                            address)
            if booked and booked["bookAppointment"]["appointment"]:
                await self.send(client, "cancel", self.body("CancelAppointment", {
                    "id": booked["bookAppointment"]["appointment"]["id"],
                    "reason": "行程有变"}), token, address)
        finally:
            client.close()

    async def closed_loop(self, visitors: int, seconds: float, first_visit: int) -> dict:
        """`visitors` residents one visit after another, no pause: the throughput."""
        before = len(self.samples)
        deadline = time.perf_counter() + seconds
        counter = iter(range(first_visit, first_visit + 10**9))

        async def visitor() -> None:
            while time.perf_counter() < deadline:
                await self.visit(next(counter))

        started = time.perf_counter()
        await asyncio.gather(*(visitor() for _ in range(visitors)))
        elapsed = time.perf_counter() - started
        samples = self.samples[before:]
        return {"visitors": visitors, "seconds": round(elapsed, 1), "requests": len(samples),
                "req_per_s": round(len(samples) / elapsed, 1),
                "visits_per_s": round((next(counter) - first_visit - visitors) / elapsed, 2),
                "not_ok": sum(s.outcome not in ("ok", "refused") for s in samples)}

    async def open_loop(self, visits_per_s: float, seconds: float, first_visit: int,
                        at_times: list[tuple[float, Callable]]) -> None:
        """Visits arriving at `visits_per_s` (Poisson, seeded) for `seconds`, whatever the
        answers' speed; each (t, coroutine function) of `at_times` is started at t seconds."""
        rng = random.Random(SOAK_SEED)
        started = time.perf_counter()
        in_flight: set[asyncio.Task] = set()
        side = [asyncio.create_task(self._at(started + t, action)) for t, action in at_times]
        n, next_at = first_visit, started
        while (now := time.perf_counter()) < started + seconds:
            if now < next_at:
                await asyncio.sleep(min(next_at - now, 0.05))
                continue
            next_at += rng.expovariate(visits_per_s)
            if len(in_flight) >= MAX_VISITS_IN_FLIGHT:
                self.dropped += 1
                continue
            task = asyncio.create_task(self.visit(n))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            n += 1
            self.visits += 1
        await asyncio.gather(*in_flight, *side)

    @staticmethod
    async def _at(when: float, action: Callable) -> None:
        await asyncio.sleep(max(0.0, when - time.perf_counter()))
        await action()
