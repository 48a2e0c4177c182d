"""Weekly schedule templates and the slots generated from them, against a brute-force oracle
over the seeded holiday calendar (2026/2027 holidays and make-up working days); regeneration
leaves slots with bookings, appointments or staff changes alone; the GraphQL mutations
upsertScheduleTemplate, deleteScheduleTemplate and generateSlots with their refusals."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from backend.accounts.models import Account
from backend.booking.models import Appointment, ScheduleTemplate, ServiceWindow, Slot
from backend.booking.schedule import desired_slots, generate_window_slots
from backend.core.clock import BUSINESS_TZ, as_utc, business_date
from backend.places.calendar import list_days
from backend.places.hours import reference_workday
from tests.booking.conftest import RESIDENT, STAFF

UPSERT = """
mutation Upsert($window: ID!, $weekday: Int!, $start: String!, $end: String!,
                $minutes: Int!, $capacity: Int!, $from: Date, $to: Date, $id: ID) {
  upsertScheduleTemplate(windowId: $window, weekday: $weekday, start: $start, end: $end,
                         slotMinutes: $minutes, capacity: $capacity, validFrom: $from,
                         validTo: $to, id: $id) {
    template { id weekday start end slotMinutes capacity validFrom validTo window { id } }
    generated { created updated removed skipped holidays }
    errors { code field message }
  }
}"""

DELETE = """
mutation Delete($id: ID!) {
  deleteScheduleTemplate(id: $id) {
    template { id }
    generated { created updated removed skipped holidays }
    errors { code field message }
  }
}"""

GENERATE = """
mutation Generate($window: ID!, $from: Date!, $to: Date!) {
  generateSlots(windowId: $window, from: $from, to: $to) {
    created updated removed skipped holidays
    errors { code field message }
  }
}"""

SHANGHAI_OFFSET = timedelta(hours=8)  # no daylight saving time in China since 1991


# --- the oracle -------------------------------------------------------------------------

def day_kinds(world, years: tuple[int, ...] = (2025, 2026, 2027, 2028)) -> dict[date, str]:
    """Holiday and make-up working days of these years from the seeded calendar."""
    with world.session() as session:
        rows = [row for year in years for row in list_days(session, year)]
    return {row.day: row.kind for row in rows if row.kind in ("holiday", "workday")}


def clusters(kinds: dict[date, str], margin: int = 3) -> list[tuple[date, date]]:
    """Ranges around each group of 2026/2027 calendar days less than a week apart."""
    ranges: list[list[date]] = []
    for day in sorted(day for day in kinds if day.year in (2026, 2027)):
        if ranges and (day - ranges[-1][1]).days < 7:
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    return [(first - timedelta(days=margin), last + timedelta(days=margin))
            for first, last in ranges]


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def oracle_day(templates: list[dict], day: date, kind: str | None) -> set[tuple]:
    """(starts_at UTC, ends_at UTC, capacity) of every slot the templates give `day`, by brute
    force: every k-th slot of slot_minutes from the start that still ends by the end."""
    if kind == "holiday":
        return set()
    keeps = reference_workday(day) if kind == "workday" else day
    wanted = set()
    for template in templates:
        if template["weekday"] != keeps.isoweekday():
            continue
        if template["valid_from"] and day < template["valid_from"]:
            continue
        if template["valid_to"] and day > template["valid_to"]:
            continue
        local_start = datetime.combine(day, template["start"])
        local_end = datetime.combine(day, template["end"])
        step = timedelta(minutes=template["slot_minutes"])
        for k in range(24 * 60):
            starts = local_start + k * step
            if starts + step > local_end:
                break
            utc = (starts - SHANGHAI_OFFSET).replace(tzinfo=UTC)
            wanted.add((utc, utc + step, template["capacity"]))
    return wanted


def oracle_range(templates: list[dict], start: date, end: date,
                 kinds: dict[date, str]) -> dict[date, set[tuple]]:
    return {day: oracle_day(templates, day, kinds.get(day)) for day in days(start, end)}


def random_templates(rng: random.Random, window_id: int, around: tuple[date, date]
                     ) -> list[dict]:
    """0–2 non-overlapping templates per weekday, any minute, 5–240-minute slots, sometimes
    bounded by validFrom / validTo inside `around`."""
    templates = []
    span = (around[1] - around[0]).days
    for weekday in range(1, 8):
        cursor = rng.randint(6 * 60, 10 * 60)
        for _ in range(rng.randint(0, 2)):
            slot_minutes = rng.choice([5, 15, 20, 30, 45, 50, 60, 90, 240, rng.randint(5, 240)])
            length = rng.randint(slot_minutes, slot_minutes * 4 + rng.randint(0, 29))
            if cursor + length > 23 * 60 + 59:
                break
            valid_from = valid_to = None
            if rng.random() < 0.3:
                valid_from = around[0] + timedelta(days=rng.randint(0, span))
            if rng.random() < 0.3:
                valid_to = (valid_from or around[0]) + timedelta(days=rng.randint(0, span))
            templates.append({
                "window_id": window_id, "weekday": weekday,
                "start": time(cursor // 60, cursor % 60),
                "end": time((cursor + length) // 60, (cursor + length) % 60),
                "slot_minutes": slot_minutes, "capacity": rng.randint(1, 100),
                "valid_from": valid_from, "valid_to": valid_to,
            })
            cursor += length + rng.randint(0, 90)
    return templates


def as_rows(templates: list[dict]) -> list[ScheduleTemplate]:
    return [ScheduleTemplate(window_id=t["window_id"], weekday=t["weekday"],
                             start_time=t["start"], end_time=t["end"],
                             slot_minutes=t["slot_minutes"], capacity=t["capacity"],
                             valid_from=t["valid_from"], valid_to=t["valid_to"])
            for t in templates]


def new_window(world, name: str = "排班测试窗口") -> int:
    with world.session() as session:
        window = ServiceWindow(place_id=world.hall_b, name=name, is_active=True)
        session.add(window)
        session.flush()
        return window.id


def slot_rows(world, window_id: int, start: date | None = None,
              end: date | None = None) -> dict[int, tuple]:
    """id → (day, starts_at, ends_at, capacity, booked, status, is_manual) of a window."""
    with world.session() as session:
        statement = select(Slot).where(Slot.window_id == window_id)
        if start is not None:
            statement = statement.where(Slot.day.between(start, end))
        return {slot.id: (slot.day, as_utc(slot.starts_at), as_utc(slot.ends_at), slot.capacity,
                          slot.booked, slot.status, slot.is_manual)
                for slot in session.scalars(statement)}


def by_day(rows: dict[int, tuple]) -> dict[date, set[tuple]]:
    result: dict[date, set[tuple]] = {}
    for day, starts, ends, capacity, *_ in rows.values():
        result.setdefault(day, set()).add((starts, ends, capacity))
    return result


def template_rows(world) -> list[tuple]:
    with world.session() as session:
        return [(t.id, t.window_id, t.weekday, t.start_time, t.end_time, t.slot_minutes,
                 t.capacity, t.valid_from, t.valid_to)
                for t in session.scalars(select(ScheduleTemplate).order_by(ScheduleTemplate.id))]


def all_slots(world) -> dict[int, tuple]:
    with world.session() as session:
        return {slot.id: (slot.window_id, slot.day, as_utc(slot.starts_at), slot.capacity,
                          slot.booked, slot.status, slot.is_manual)
                for slot in session.scalars(select(Slot))}


def today() -> date:
    return datetime.now(BUSINESS_TZ).date()


# --- desired_slots and generate_window_slots against the oracle ------------------------------

def test_calendar__2026_and_2027__holidays_and_make_up_days_seeded(world):
    # given / when: the calendar the fixture seeded
    kinds = day_kinds(world, (2026, 2027))
    # then: both kinds present in both years, make-up days on weekends (the ranges below
    # therefore exercise them)
    for year in (2026, 2027):
        assert any(day.year == year and kind == "holiday" for day, kind in kinds.items())
    workdays = [day for day, kind in kinds.items() if kind == "workday"]
    assert len(workdays) >= 4 and all(day.weekday() >= 5 for day in workdays)


@pytest.mark.parametrize("seed", range(12))
def test_desired_slots__random_templates_over_holiday_ranges__equal_oracle(world, seed):
    # given: random templates and every range around a 2026/2027 holiday period
    rng = random.Random(seed)
    kinds = day_kinds(world)
    checked_workday = False
    for start, end in clusters(kinds):
        templates = random_templates(rng, 1, (start, end))
        rows = as_rows(templates)
        for day in days(start, end):
            # when: asking which slots the templates give the day
            got = desired_slots(rows, day, kinds.get(day))
            # then: exactly the brute-force slots, none twice
            assert len(got) == len(set(got))
            assert set(got) == oracle_day(templates, day, kinds.get(day)), (seed, day)
            if kinds.get(day) == "holiday":
                assert got == []
            if kinds.get(day) == "workday" and got:
                checked_workday = True
    if seed == 0:
        assert checked_workday  # a make-up day actually got slots from its weekday


def test_desired_slots__make_up_saturday__gets_the_reference_weekday_template_only(world):
    # given: a template on every weekday with a different capacity each (capacity = weekday)
    templates = [{"window_id": 1, "weekday": weekday, "start": time(9), "end": time(10),
                  "slot_minutes": 30, "capacity": weekday, "valid_from": None,
                  "valid_to": None} for weekday in range(1, 8)]
    kinds = day_kinds(world)
    for day in sorted(day for day, kind in kinds.items() if kind == "workday"):
        # when: generating a make-up working day (a Saturday or Sunday)
        got = desired_slots(as_rows(templates), day, "workday")
        # then: the slots of the weekday whose hours it keeps, not of its own weekday
        assert {capacity for _, _, capacity in got} == {reference_workday(day).isoweekday()}
        assert reference_workday(day).weekday() < 5
        assert len(got) == 2


def test_desired_slots__remainder_shorter_than_a_slot__dropped(world):
    # given: 09:00–10:40 in 30-minute slots (10:30–10:40 is too short for one)
    template = {"window_id": 1, "weekday": 3, "start": time(9), "end": time(10, 40),
                "slot_minutes": 30, "capacity": 4, "valid_from": None, "valid_to": None}
    wednesday = date(2027, 3, 3)
    # when
    got = sorted(desired_slots(as_rows([template]), wednesday, None))
    # then: 09:00, 09:30, 10:00 in Beijing time, stored in UTC (01:00, 01:30, 02:00)
    assert [(s.astimezone(UTC).strftime("%H:%M"), e.astimezone(UTC).strftime("%H:%M"))
            for s, e, _ in got] == [("01:00", "01:30"), ("01:30", "02:00"), ("02:00", "02:30")]
    assert all(s.utcoffset() == timedelta(0) for s, _, _ in got)
    assert [s.astimezone(BUSINESS_TZ).date() for s, _, _ in got] == [wednesday] * 3


@pytest.mark.parametrize("seed", range(4))
def test_generate_window_slots__random_templates__slots_equal_oracle_and_idempotent(world,
                                                                                   seed):
    # given: a window with random templates
    rng = random.Random(100 + seed)
    kinds = day_kinds(world)
    window_id = new_window(world)
    ranges = clusters(kinds)
    start, end = ranges[seed % len(ranges)]
    templates = random_templates(rng, window_id, (start, end))
    with world.session() as session:
        session.add_all(as_rows(templates))
    # when: generating the range
    with world.session() as session:
        result = generate_window_slots(session, window_id, start, end)
    # then: exactly the oracle's slots, open and free, on the Beijing day of their start
    rows = slot_rows(world, window_id)
    wanted = {day: slots for day, slots in oracle_range(templates, start, end, kinds).items()
              if slots}
    assert by_day(rows) == wanted
    assert result.created == len(rows) == sum(len(slots) for slots in wanted.values())
    assert (result.updated, result.removed, result.skipped) == (0, 0, 0)
    assert result.holidays == sorted(day for day in days(start, end)
                                     if kinds.get(day) == "holiday")
    assert all(status == "open" and booked == 0 and not manual
               and business_date(starts) == day
               for day, starts, _, _, booked, status, manual in rows.values())
    # when: generating the same range again
    with world.session() as session:
        again = generate_window_slots(session, window_id, start, end)
    # then: nothing new, nothing changed
    assert (again.created, again.updated, again.removed, again.skipped) == (0, 0, 0, 0)
    assert slot_rows(world, window_id) == rows


def test_generate_window_slots__valid_from_and_valid_to__respected(world):
    # given: a Wednesday template valid only from 2027-03-10 to 2027-03-24
    window_id = new_window(world)
    template = {"window_id": window_id, "weekday": 3, "start": time(14), "end": time(15),
                "slot_minutes": 60, "capacity": 1, "valid_from": date(2027, 3, 10),
                "valid_to": date(2027, 3, 24)}
    with world.session() as session:
        session.add_all(as_rows([template]))
    # when: generating March 2027
    with world.session() as session:
        generate_window_slots(session, window_id, date(2027, 3, 1), date(2027, 3, 31))
    # then: slots on the Wednesdays 10, 17 and 24 March only
    assert sorted(day for day, *_ in slot_rows(world, window_id).values()) == [
        date(2027, 3, 10), date(2027, 3, 17), date(2027, 3, 24)]


# --- regeneration keeps what has bookings, appointments or staff changes ---------------------

def _protect(world, slot_id: int, how: str) -> None:
    with world.session() as session:
        slot = session.get(Slot, slot_id)
        if session.get(Account, RESIDENT) is None:
            session.add(Account(uid=RESIDENT))
            session.flush()
        if how in ("booked", "cancelled appointment"):
            session.add(Appointment(
                uid=RESIDENT, slot_id=slot.id, window_id=slot.window_id,
                service_item_id=world.item, day=slot.day,
                status="booked" if how == "booked" else "cancelled",
                code=f"P{slot_id:07d}", idempotency_key=f"protect-{slot_id}", revision=0))
            slot.booked = 1 if how == "booked" else 0
        elif how == "closed":
            slot.status, slot.closed_reason, slot.is_manual = "closed", "停电", True
        else:  # capacity set by hand
            slot.capacity, slot.is_manual = slot.capacity + 7, True


def overlaps(a: tuple, b: tuple) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@pytest.mark.parametrize("seed", range(6))
def test_regenerate__changed_templates__kept_slots_untouched_free_slots_follow(world, seed):
    # given: slots generated from random templates over two weeks, some of them protected by
    # a booking, a cancelled appointment, a closure or a hand-set capacity
    rng = random.Random(200 + seed)
    kinds = day_kinds(world)
    window_id = new_window(world)
    start, end = date(2027, 3, 1), date(2027, 3, 14)
    old = random_templates(rng, window_id, (start, end))
    with world.session() as session:
        session.add_all(as_rows(old))
    with world.session() as session:
        generate_window_slots(session, window_id, start, end)
    before = slot_rows(world, window_id)
    hows = ["booked", "cancelled appointment", "closed", "capacity"]
    protected = {}
    for slot_id in rng.sample(sorted(before), min(len(before), rng.randint(4, 12))):
        protected[slot_id] = hows[len(protected) % 4]
        _protect(world, slot_id, protected[slot_id])
    before = slot_rows(world, window_id)
    assert len(protected) >= 4  # the seed gives slots to protect
    # when: the templates change (half of the time only their capacities) and regeneration runs
    if seed % 2:
        new = [dict(t, capacity=t["capacity"] % 100 + 1) for t in old]
    else:
        new = random_templates(rng, window_id, (start, end))
    with world.session() as session:
        session.query(ScheduleTemplate).filter_by(window_id=window_id).delete()
        session.add_all(as_rows(new))
    with world.session() as session:
        result = generate_window_slots(session, window_id, start, end)
    after = slot_rows(world, window_id)
    # then: protected slots are exactly as they were
    assert {slot_id: after.get(slot_id) for slot_id in protected} == {
        slot_id: before[slot_id] for slot_id in protected}
    # and: the rest follows the new templates, per the oracle
    wanted = oracle_range(new, start, end, kinds)
    created = updated = removed = skipped = 0
    expected_free: dict[date, set[tuple]] = {}
    for day in days(start, end):
        kept = [(row[1], row[2]) for slot_id, row in before.items()
                if slot_id in protected and row[0] == day]
        free = {(row[1], row[2]): row[3] for slot_id, row in before.items()
                if slot_id not in protected and row[0] == day}
        skipped += len(kept)
        for starts, ends, capacity in wanted[day]:
            if (starts, ends) in free:
                updated += free.pop((starts, ends)) != capacity
            elif (starts, ends) in kept:
                continue  # the protected slot stands in that very time: counted once
            elif any(overlaps((starts, ends), k) for k in kept):
                skipped += 1
                continue
            else:
                created += 1
            expected_free.setdefault(day, set()).add((starts, ends, capacity))
        removed += len(free)
    unprotected = {slot_id: row for slot_id, row in after.items() if slot_id not in protected}
    assert by_day(unprotected) == expected_free
    assert all(row[4:] == (0, "open", False) for row in unprotected.values())
    assert (result.created, result.updated, result.removed, result.skipped) == (
        created, updated, removed, skipped)
    assert created + updated + removed > 0
    if seed % 2:  # same times: each protected slot is kept, standing in its wanted time
        assert (result.created, result.removed, result.skipped) == (0, 0, len(protected))
    # and: surviving free slots kept their ids (updated in place, not replaced)
    same_time = {(row[1], row[2]): slot_id for slot_id, row in before.items()}
    for slot_id, row in unprotected.items():
        if (row[1], row[2]) in same_time and same_time[(row[1], row[2])] not in protected:
            assert slot_id == same_time[(row[1], row[2])]
    # when: regeneration runs again
    with world.session() as session:
        again = generate_window_slots(session, window_id, start, end)
    # then: nothing created, changed or removed
    assert (again.created, again.updated, again.removed) == (0, 0, 0)
    assert again.skipped == skipped
    assert slot_rows(world, window_id) == after


# --- upsertScheduleTemplate / deleteScheduleTemplate over GraphQL ---------------------------

def horizon(world) -> tuple[date, date]:
    first = today()
    return first, first + timedelta(days=world.rules.generation_days)


def upsert(world, uid: str = STAFF, **values) -> dict:  # noqa: ANN003
    variables = {"window": str(world.window_a1), "weekday": world.day.isoweekday(),
                 "start": "09:00", "end": "11:00", "minutes": 30, "capacity": 2,
                 "from": None, "to": None, "id": None}
    variables.update(values)
    body = world.gql(UPSERT, variables, uid=uid)
    assert "errors" not in body, body
    return body["data"]["upsertScheduleTemplate"]


def template_dict(template: dict) -> dict:
    hours = [time.fromisoformat(template[key]) for key in ("start", "end")]
    return {"window_id": int(template["window"]["id"]), "weekday": template["weekday"],
            "start": hours[0], "end": hours[1], "slot_minutes": template["slotMinutes"],
            "capacity": template["capacity"],
            "valid_from": template["validFrom"] and date.fromisoformat(template["validFrom"]),
            "valid_to": template["validTo"] and date.fromisoformat(template["validTo"])}


def expected_counts(before: dict[int, tuple], wanted: dict[date, set[tuple]]) -> dict:
    """created / updated / removed for a window of only free slots."""
    free = {(row[1], row[2]): row[3] for row in before.values()}
    wanted_times = {(s, e): c for slots in wanted.values() for s, e, c in slots}
    return {"created": len(wanted_times.keys() - free.keys()),
            "updated": sum(free[key] != c for key, c in wanted_times.items() if key in free),
            "removed": len(free.keys() - wanted_times.keys())}


def test_upsert_template__new_then_same_key__created_then_updated_with_generated_counts(world):
    # given: window A1 with the world's two free slots, no template
    first, last = horizon(world)
    kinds = day_kinds(world)
    before = slot_rows(world, world.window_a1, first, last)
    # when: a clerk of A1 adds a template for the weekday of the world's day
    payload = upsert(world)
    # then: the template, and the horizon's slots made to match it
    assert payload["errors"] == []
    template = payload["template"]
    assert (template["weekday"], template["start"], template["end"], template["slotMinutes"],
            template["capacity"]) == (world.day.isoweekday(), "09:00", "11:00", 30, 2)
    wanted = {d: s for d, s in oracle_range([template_dict(template)], first, last,
                                            kinds).items() if s}
    after = slot_rows(world, world.window_a1, first, last)
    assert by_day(after) == wanted
    assert {key: payload["generated"][key] for key in ("created", "updated", "removed")} == (
        expected_counts(before, wanted))
    assert payload["generated"]["created"] > 0
    assert payload["generated"]["holidays"] == [
        d.isoformat() for d in days(first, last) if kinds.get(d) == "holiday"]
    # when: the same window, weekday and start again, shorter and with more places
    again = upsert(world, end="10:00", capacity=3)
    # then: the same template changed, slots updated and the later ones removed
    assert again["errors"] == []
    assert again["template"]["id"] == template["id"]
    assert (again["template"]["end"], again["template"]["capacity"]) == ("10:00", 3)
    assert len(template_rows(world)) == 1
    wanted_again = {d: s for d, s in oracle_range([template_dict(again["template"])], first,
                                                  last, kinds).items() if s}
    assert by_day(slot_rows(world, world.window_a1, first, last)) == wanted_again
    counts = {key: again["generated"][key] for key in ("created", "updated", "removed")}
    assert counts == expected_counts(after, wanted_again)
    assert counts["created"] == 0 and counts["updated"] > 0 and counts["removed"] > 0


def test_upsert_template__overlapping_same_weekday__invalid_input_on_start_nothing_written(
        world):
    # given: a template 09:00–11:00
    assert upsert(world)["errors"] == []
    templates, slots = template_rows(world), all_slots(world)
    # when: another template of the same weekday 10:00–12:00
    payload = upsert(world, start="10:00", end="12:00")
    # then: INVALID_INPUT on start, nothing written
    assert payload["template"] is None and payload["generated"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", "start")]
    assert (template_rows(world), all_slots(world)) == (templates, slots)
    # and: one that only touches it (11:00–12:00) is fine
    assert upsert(world, start="11:00", end="12:00")["errors"] == []
    assert len(template_rows(world)) == 2


BAD_TEMPLATES = {
    "weekday 0": ({"weekday": 0}, "weekday"),
    "weekday 8": ({"weekday": 8}, "weekday"),
    "start 9:00": ({"start": "9:00"}, "start"),
    "start 09:60": ({"start": "09:60"}, "start"),
    "end 24:00": ({"end": "24:00"}, "end"),
    "start after end": ({"start": "11:00", "end": "10:00"}, "end"),
    "start equals end": ({"start": "10:00", "end": "10:00"}, "end"),
    "slot 4 minutes": ({"minutes": 4}, "slotMinutes"),
    "slot 241 minutes": ({"minutes": 241, "end": "23:00"}, "slotMinutes"),
    "capacity 0": ({"capacity": 0}, "capacity"),
    "capacity 101": ({"capacity": 101}, "capacity"),
    "validFrom after validTo": ({"from": "2027-03-10", "to": "2027-03-09"}, "validTo"),
    "slot longer than the span": ({"start": "09:00", "end": "09:20", "minutes": 30},
                                  "slotMinutes"),
}


@pytest.mark.parametrize("case", list(BAD_TEMPLATES))
def test_upsert_template__bad_input__invalid_input_with_field_nothing_written(world, case):
    # given: the world (no template)
    values, field = BAD_TEMPLATES[case]
    templates, slots = template_rows(world), all_slots(world)
    # when: upserting a template with one bad value
    payload = upsert(world, **values)
    # then: INVALID_INPUT naming that argument, nothing written
    assert payload["template"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", field)]
    assert (template_rows(world), all_slots(world)) == (templates, slots)


@pytest.mark.parametrize("values", [{"minutes": 5}, {"minutes": 240, "end": "13:00"},
                                    {"capacity": 1}, {"capacity": 100},
                                    {"start": "00:00", "end": "23:59"},
                                    {"from": "2027-03-10", "to": "2027-03-10"}])
def test_upsert_template__boundary_values__accepted(world, values):
    # when: upserting with a value at the edge of its range
    payload = upsert(world, **values)
    # then: accepted
    assert payload["errors"] == [], payload
    assert len(template_rows(world)) == 1


def test_upsert_template__resident__forbidden_nothing_written(world):
    # given: no template
    slots = all_slots(world)
    # when: a resident tries to add one
    body = world.gql(UPSERT, {"window": str(world.window_a1), "weekday": 1, "start": "09:00",
                              "end": "10:00", "minutes": 30, "capacity": 2}, uid=RESIDENT)
    # then: FORBIDDEN, nothing written
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert (template_rows(world), all_slots(world)) == ([], slots)


def test_delete_template__with_a_booked_slot__template_and_free_slots_gone_booked_kept(world):
    # given: a template with its generated slots, one of which has a booking
    created = upsert(world)
    template_id = created["template"]["id"]
    first, last = horizon(world)
    generated = slot_rows(world, world.window_a1, first, last)
    kept_id = min(generated, key=lambda slot_id: generated[slot_id][1])
    _protect(world, kept_id, "booked")
    # when: the clerk deletes the template
    payload = world.gql(DELETE, {"id": template_id}, uid=STAFF)["data"][
        "deleteScheduleTemplate"]
    # then: the template is gone, and so is every free slot it made; the booked one stays
    assert payload["errors"] == []
    assert payload["template"]["id"] == template_id
    assert template_rows(world) == []
    remaining = slot_rows(world, world.window_a1, first, last)
    assert list(remaining) == [kept_id]
    assert payload["generated"]["removed"] == len(generated) - 1
    assert payload["generated"]["created"] == 0


def test_delete_template__slots_generated_beyond_the_rolling_horizon__removed_too(world):
    # given: a template whose slots the clerk generated 60 days ahead
    created = upsert(world)
    first = today()
    generated = world.gql(GENERATE, {"window": str(world.window_a1), "from": first.isoformat(),
                                     "to": (first + timedelta(days=60)).isoformat()},
                          uid=STAFF)["data"]["generateSlots"]
    assert generated["errors"] == [] and generated["created"] > 0
    # when: the clerk deletes the template
    payload = world.gql(DELETE, {"id": created["template"]["id"]}, uid=STAFF)["data"][
        "deleteScheduleTemplate"]
    assert payload["errors"] == []
    # then: no free future slot of the deleted template is left to be booked later
    left = {row[0] for row in slot_rows(world, world.window_a1).values() if row[0] >= first}
    assert left == set(), sorted(left)


def test_delete_template__unknown_id__not_found(world):
    # when: deleting a template that does not exist
    payload = world.gql(DELETE, {"id": "987654"}, uid=STAFF)["data"]["deleteScheduleTemplate"]
    # then: NOT_FOUND on id
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", "id")]


# --- generateSlots over GraphQL ---------------------------------------------------------

@pytest.mark.parametrize("case, start, end, code, field", [
    ("from in the past", -1, 5, "INVALID_INPUT", "from"),
    ("to beyond 90 days", 0, 91, "OUT_OF_HORIZON", "to"),
    ("from after to", 5, 4, "INVALID_INPUT", "to"),
])
def test_generate_slots__refused_range__error_with_field_nothing_written(world, case, start,
                                                                        end, code, field):
    # given: a template, so that a range would produce slots
    assert upsert(world)["errors"] == []
    slots = all_slots(world)
    # when: generating an out-of-bounds range
    payload = world.gql(GENERATE, {
        "window": str(world.window_a1),
        "from": (today() + timedelta(days=start)).isoformat(),
        "to": (today() + timedelta(days=end)).isoformat()}, uid=STAFF)["data"]["generateSlots"]
    # then: the error in the payload, zero counts, nothing written
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], case
    assert (payload["created"], payload["updated"], payload["removed"], payload["skipped"],
            payload["holidays"]) == (0, 0, 0, 0, [])
    assert all_slots(world) == slots


def test_generate_slots__60_days__oracle_slots_and_the_holidays_in_range(world):
    # given: templates on every weekday (09:00–10:00, 30 min) of window A1, none on weekends
    for weekday in range(1, 6):
        assert upsert(world, weekday=weekday, end="10:00")["errors"] == []
    first, last = today(), today() + timedelta(days=60)
    with world.session() as session:
        kinds = {row.day: row.kind for year in {first.year, last.year}
                 for row in list_days(session, year) if row.kind in ("holiday", "workday")}
    before = slot_rows(world, world.window_a1, first, last)
    # when: the clerk generates 60 days
    payload = world.gql(GENERATE, {"window": str(world.window_a1), "from": first.isoformat(),
                                   "to": last.isoformat()}, uid=STAFF)["data"]["generateSlots"]
    # then: the holidays of the range are listed, and the slots match the oracle
    assert payload["errors"] == []
    assert payload["holidays"] == [d.isoformat() for d in days(first, last)
                                   if kinds.get(d) == "holiday"]
    templates = [{"window_id": world.window_a1, "weekday": weekday, "start": time(9),
                  "end": time(10), "slot_minutes": 30, "capacity": 2, "valid_from": None,
                  "valid_to": None} for weekday in range(1, 6)]
    wanted = {d: s for d, s in oracle_range(templates, first, last, kinds).items() if s}
    assert by_day(slot_rows(world, world.window_a1, first, last)) == wanted
    assert payload["created"] == sum(map(len, wanted.values())) - len(before)
    # and: the 90th day is still allowed
    edge = (today() + timedelta(days=90)).isoformat()
    assert world.gql(GENERATE, {"window": str(world.window_a1), "from": edge, "to": edge},
                     uid=STAFF)["data"]["generateSlots"]["errors"] == []


def test_generate_slots__other_windows_staff__forbidden(world):
    # when: the clerk of A2 generates slots for A1
    body = world.gql(GENERATE, {"window": str(world.window_a1), "from": today().isoformat(),
                                "to": today().isoformat()}, uid="clerk-a2")
    # then: FORBIDDEN
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]

