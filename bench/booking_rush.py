"""The booking rush through the API (a 9:00 slot release, 抢号): many keep-alive clients
(asyncio connections in one thread) book for a crowd of residents, each wanting one place,
until every place is taken."""

from __future__ import annotations

import json
import time

from booking_data import BOOKING_SEED
from clients import AsyncClient, stats_ms
from documents import booking_document
from servers import FIREBASE_PROJECT


async def _book_clients(port: int, slots: list[int], capacity: int, item_id: int,
                        uid_prefix: str, clients: int, seconds: float,
                        residents: int) -> dict:
    """`clients` keep-alive clients book for `residents` residents (uids `uid_prefix` + n),
    each wanting one place, until every place is taken, every resident has one, or `seconds`
    pass. An attempt is the next waiting resident with a new idempotency key and a slot drawn
    uniformly among those still open as far as the clients know: a slot leaves the choice once
    its places are all answered, or on its first SLOT_FULL (as availableSlots would stop
    showing it); a resident answered SLOT_FULL (the races for the last places of a slot)
    waits again for another slot."""
    import asyncio
    import random

    from backend.accounts.dev_token import emulator_token

    document = booking_document()
    rng = random.Random(BOOKING_SEED)
    open_slots = list(slots)
    booked = dict.fromkeys(slots, 0)
    state = {"attempts": 0, "last_success": None}
    waiting = list(range(residents - 1, -1, -1))  # popped from the end: resident 0 first
    latencies: dict[str, list[float]] = {"booked": [], "slot_full": [], "other": []}
    other_errors: dict[str, int] = {}
    appointment_ids: list[int] = []
    started = time.perf_counter()
    deadline = started + seconds

    def close_slot(slot: int) -> None:
        if slot in open_slots:
            open_slots.remove(slot)

    async def one_client(client: AsyncClient) -> None:
        while open_slots and waiting and time.perf_counter() < deadline:
            slot = rng.choice(open_slots)
            resident = waiting.pop()
            n = state["attempts"]
            state["attempts"] += 1
            body = json.dumps({"query": document, "operationName": "BookAppointment",
                               "variables": {"slotId": str(slot), "serviceItemId": str(item_id),
                                             "idempotencyKey": f"bench-key-{n}"}}).encode()
            token = emulator_token(f"{uid_prefix}{resident}", FIREBASE_PROJECT)
            sent = time.perf_counter()
            try:
                status, data = await asyncio.wait_for(client.post(body, token), 60)
            except Exception as error:  # noqa: BLE001 - counted and reported
                kind = f"transport: {type(error).__name__}"
                other_errors[kind] = other_errors.get(kind, 0) + 1
                latencies["other"].append(time.perf_counter() - sent)
                continue
            elapsed = time.perf_counter() - sent
            try:
                answer = json.loads(data)
                payload = answer["data"]["bookAppointment"] if status == 200 else None
            except (ValueError, KeyError, TypeError):
                answer, payload = {}, None
            if payload is not None and payload.get("appointment") and not answer.get("errors"):
                appointment_ids.append(int(payload["appointment"]["id"]))
                booked[slot] += 1
                latencies["booked"].append(elapsed)
                state["last_success"] = time.perf_counter()
                if booked[slot] >= capacity:
                    close_slot(slot)
                continue
            codes = [e.get("code") for e in (payload or {}).get("errors") or []]
            if codes == ["SLOT_FULL"] and not answer.get("errors"):
                latencies["slot_full"].append(elapsed)
                close_slot(slot)
                waiting.append(resident)
                continue
            kind = (f"HTTP {status}" if status != 200 else
                    "GraphQL errors" if answer.get("errors") else
                    "payload " + ",".join(str(c) for c in codes) if codes else "unreadable")
            other_errors[kind] = other_errors.get(kind, 0) + 1
            other_errors.setdefault("first", (data[:300] or b"").decode("utf-8", "replace"))
            latencies["other"].append(elapsed)

    connections = [AsyncClient(port) for _ in range(clients)]
    try:
        await asyncio.gather(*(one_client(c) for c in connections))
    finally:
        for client in connections:
            client.close()
    ended = time.perf_counter()
    every = latencies["booked"] + latencies["slot_full"] + latencies["other"]
    first_error = other_errors.pop("first", None)
    successes = len(latencies["booked"])
    fill = (state["last_success"] - started) if state["last_success"] else None
    result = {
        "clients": clients, "residents": residents, "slots": len(slots),
        "capacity_per_slot": capacity,
        "places": len(slots) * capacity,
        "requests": state["attempts"], "booked": successes,
        "slot_full": len(latencies["slot_full"]),
        "other_errors": sum(other_errors.values()), "other_error_kinds": other_errors,
        "all_places_taken": not open_slots and successes == len(slots) * capacity,
        "seconds": round(ended - started, 3),
        "fill_seconds": round(fill, 3) if fill else None,
        "bookings_per_s": round(successes / fill, 1) if fill else 0.0,
        "req_per_s": round(state["attempts"] / (ended - started), 1),
        "reconnects": sum(c.reconnects for c in connections),
        **{k: v for k, v in stats_ms(every).items() if k != "n"},
        "booked_latency": stats_ms(latencies["booked"]),
        "slot_full_latency": stats_ms(latencies["slot_full"]),
    }
    if first_error:
        result["first_other_error"] = first_error
    result["appointment_ids"] = appointment_ids
    return result


def book_clients(port: int, slots: list[int], capacity: int, item_id: int, uid_prefix: str,
                 clients: int, seconds: float, residents: int) -> dict:
    import asyncio

    return asyncio.run(_book_clients(port, slots, capacity, item_id, uid_prefix, clients,
                                     seconds, residents))
