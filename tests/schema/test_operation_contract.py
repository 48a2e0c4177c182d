"""The statement contract of graphql/operations/: every document the apps send runs, as the
user who sends it, on data the fixtures make, and costs a pinned number of SQL statements
(COUNTS). A document with a page size (`first`) or a list whose length follows the data runs
at two sizes and must cost the same at both: loaders batch whatever the page shows, so a
count that grows with the page is an N+1. Mutations run once, each on state of its own.

A document of graphql/operations/ without an entry in CASES and COUNTS fails
`test_contract__every_document__has_a_case_and_a_count`, so a new one can't be forgotten.
`pytest -s` prints each document's count."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import event, func, select

from backend.accounts.models import Account
from backend.booking.appointments import CODE_ALPHABET
from backend.booking.models import (
    Appointment,
    ScheduleTemplate,
    ServiceWindow,
    Slot,
    WindowServiceItem,
)
from backend.core.clock import BUSINESS_TZ
from backend.notify.models import Device, Notification
from backend.places.models import Place
from tests.booking.conftest import (
    EDITOR,
    HANGZHOU,
    HANGZHOU_XIHU,
    RESIDENT,
    World,
    _place,
)
from tests.helpers import OPERATIONS_DIR, gql, grant_role, operation
from tests.schema import admin_cases, editing_cases

SMALL, LARGE = 3, 20  # page sizes (`first`)
FEW, MANY = 2, 8  # rows behind a list that follows the data
HANGZHOU_CENTRE = {"lat": 30.2741, "lon": 120.1551}

# Statements each document sends, as (SQLite, PostGIS); measured, and the same at both sizes
# for the documents run at two. A change here is a change of what a screen costs: say why in
# the commit.
COUNTS: dict[str, tuple[int, int]] = {
    "AdminGrants": (4, 4),
    "AdminRegion": (0, 0),
    "AdminWindow": (2, 2),
    "CalendarDays": (2, 2),
    "ClearCalendarDay": (10, 10),
    "GrantRole": (6, 6),
    "RevokeRole": (2, 2),
    "SetCalendarDay": (13, 13),
    "ArchivePlace": (8, 8),
    "DismissPlaceReport": (5, 5),
    "PlaceReport": (2, 2),
    "PlaceReports": (2, 2),
    "ReportPlaceIssue": (6, 6),
    "ResolvePlaceReport": (6, 6),
    "ServiceItemDocument": (2, 2),
    "AvailableSlots": (5, 5),
    "BookAppointment": (7, 5),  # the booking rush (issue 18): was (17, 17), then (7, 6)
    "BrowsePlaces": (3, 3),
    "CancelAppointment": (16, 16),
    "CheckIn": (6, 6),
    "Checklist": (1, 1),
    "CloseDay": (16, 16),
    "CloseSlot": (13, 13),
    "CompleteAppointment": (4, 4),
    "CreatePlace": (13, 14),  # region outlines tested in SQL on PostGIS (issue 18): was 13
    "EditPlace": (3, 3),  # items read with the place (issue 18): was (4, 4)
    "EditorHallWindows": (5, 5),
    "EditorPlaces": (2, 2),
    "DeleteScheduleTemplate": (9, 9),
    "FindPlaces": (6, 4),  # PostGIS: the page's rows come with the ranking (issue 18)
    "GenerateSlots": (6, 6),
    "GeocodeAddress": (2, 2),
    "ImportPlaces": (30, 34),  # issue 18: a region test in SQL per row on PostGIS (was 30), the
    # grid rebuild's all-kinds rows at the finest zoom (one INSERT)
    "MapClusters": (1, 1),
    "MarkNoShow": (5, 5),
    "MarkNotificationsRead": (4, 4),
    "MyAppointments": (6, 6),
    "MyNotifications": (8, 8),
    "NearbyPlaces": (3, 1),  # PostGIS: the page's rows come with the ranking (issue 18)
    "PlaceDetail": (1, 1),  # items and the day's calendar kind read with the place
    # (issue 18): was (4, 4)
    "PlaceNavigation": (1, 1),
    "PlaceSheet": (4, 4),  # items read with the place (issue 18): was (6, 6)
    "PlaceWindows": (3, 3),
    "Regions": (2, 2),
    "Clusters": (0, 0),
    "ConsoleMe": (1, 1),
    "ClusterPlaces": (4, 1),  # as NearbyPlaces
    "RegisterDevice": (5, 5),  # the account lock (one user's registrations in order)
    "RescheduleAppointment": (23, 23),
    "RestorePlace": (8, 8),
    "RevertPlace": (6, 6),
    "SearchServiceItems": (2, 2),
    "ServiceItemGuide": (1, 1),
    "ServiceItemPlaces": (4, 4),
    "SetPlaceServiceItems": (15, 15),
    "SetSlotCapacity": (4, 4),
    "UnregisterDevice": (3, 3),
    "UpdatePlace": (5, 5),
    "UpsertScheduleTemplate": (11, 11),
    "UpsertServiceItem": (9, 9),
    "UpsertWindow": (9, 9),
    "WhereAmI": (0, 1),  # region outlines tested in SQL on PostGIS (issue 18): was 0
    "WindowDay": (7, 7),
    "WindowSchedule": (3, 3),
    "WindowWeek": (3, 3),
    "StaffWindow": (2, 2),
    "ReopenSlot": (4, 4),
    "ReopenDay": (5, 5),
    "CloseOutDay": (3, 3),
    "ScheduleTemplatePreview": (3, 3),
}

_serial = itertools.count(1)


# --- running a document and counting -----------------------------------------------------

@dataclass
class Demo:
    """The seeded demo data set (read-only), asked anonymously like the resident app does."""

    app: object
    place_id: int
    item_id: int
    hall_with_windows_id: int

    def gql(self, query: str, variables: dict | None = None, uid: str | None = None) -> dict:
        assert uid is None, "the demo app verifies no tokens: its documents are anonymous"
        return gql(self.app.test_client(), query, variables)


@dataclass(frozen=True)
class Case:
    """How one document runs: `prepare(ctx, size)` makes the data it needs and returns
    (uid or None, variables). `sizes` is (small, large) for a document run at two sizes
    (`size` is then a page size or a number of rows), None for one run (`size` is None).
    `ctx` is a Demo (fixture "demo") or the booking tests' World (fixture "world")."""

    fixture: str
    prepare: Callable
    sizes: tuple[int, int] | None = None


def _run(ctx, document: str, uid: str | None, variables: dict) -> tuple[list[str], dict]:
    """Send `document` as `uid`; the SQL statements it cost, and its data (no errors, and no
    errors in any payload)."""
    engine = ctx.app.extensions["servicemap"].engine
    counted: list[str] = []

    def count(_connection, _cursor, statement, *_args) -> None:  # noqa: ANN001
        counted.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        body = ctx.gql(document, variables, uid=uid)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert "errors" not in body, body["errors"]
    for name, payload in body["data"].items():
        if isinstance(payload, dict) and "errors" in payload:
            assert payload["errors"] == [], (name, payload["errors"])
    return counted, body["data"]


def _listing(statements: list[str]) -> str:
    return "\n".join(" ".join(statement.split())[:160] for statement in statements)


def _items(value) -> int:
    """Every element of every list in a response: what the size made longer."""
    if isinstance(value, dict):
        return sum(_items(inner) for inner in value.values())
    if isinstance(value, list):
        return len(value) + sum(_items(inner) for inner in value)
    return 0


# --- data of the world's documents --------------------------------------------------------

def _serial_code() -> str:
    number, code = next(_serial), ""
    for _ in range(8):
        number, digit = divmod(number, len(CODE_ALPHABET))
        code = CODE_ALPHABET[digit] + code
    return code


def _today():
    return datetime.now(BUSINESS_TZ).date()


def _window(world: World, *, place_id: int | None = None, staff: bool = True) -> tuple[int, str]:
    """A new window (at hall A unless told) handling the world's two items, and the uid of
    its staff."""
    n = next(_serial)
    uid = f"clerk-contract-{n}"
    with world.session() as session:
        window = ServiceWindow(place_id=place_id or world.hall_a, name=f"契约窗口 {n}",
                               is_active=True)
        session.add(window)
        session.flush()
        session.add_all(WindowServiceItem(window_id=window.id, service_item_id=item)
                        for item in (world.item, world.other_item))
        if staff:
            grant_role(session, uid, "staff", window_id=window.id)
        return window.id, uid


def _hall(world: World, windows: int) -> tuple[int, list[int]]:
    """A new service hall in Hangzhou with `windows` windows (each with staff of its own)."""
    n = next(_serial)
    with world.session() as session:
        hall = _place(f"contract-hall-{n}", f"契约大厅{n}", HANGZHOU_XIHU, HANGZHOU, "330000",
                      30.2741, 120.1551)
        session.add(hall)
        session.flush()
        hall_id = hall.id
    return hall_id, [_window(world, place_id=hall_id)[0] for _ in range(windows)]


def _resident() -> str:
    return f"resident-contract-{next(_serial)}"


def _appointment(world: World, slot_id: int, uid: str, status: str = "booked",
                 item: int | None = None, code: str | None = None) -> int:
    """An appointment row written directly (booking refuses slots inside the cutoff)."""
    with world.session() as session:
        if session.get(Account, uid) is None:
            session.add(Account(uid=uid))
            session.flush()
        slot = session.get(Slot, slot_id)
        code = code or _serial_code()
        appointment = Appointment(uid=uid, slot_id=slot.id, window_id=slot.window_id,
                                  service_item_id=item or world.item, day=slot.day,
                                  status=status, code=code, idempotency_key=f"direct-{code}",
                                  revision=0)
        session.add(appointment)
        if status in ("booked", "checked_in"):
            slot.booked += 1
        session.flush()
        return appointment.id


def _book(world: World, slot_id: int, uid: str) -> str:
    """Book through the API, as the app does (reminders and staff alerts queued)."""
    body = world.gql(operation("BookAppointment"), {
        "slotId": str(slot_id), "serviceItemId": str(world.item),
        "idempotencyKey": f"contract-{next(_serial)}"}, uid=uid)
    assert "errors" not in body and body["data"]["bookAppointment"]["errors"] == [], body
    return body["data"]["bookAppointment"]["appointment"]["id"]


def _clock(minutes: int) -> str:
    return f"{9 + minutes // 60:02d}:{minutes % 60:02d}"


def _appointments_of(world: World, size: int) -> tuple[str, list[int]]:
    """A resident with `size` appointments on the world's day, at `size` windows of a new
    hall, for both items."""
    uid = _resident()
    _, windows = _hall(world, size)
    made = []
    for number, window in enumerate(windows):
        slot = world.add_slot(window, world.day, _clock(30 * number))
        made.append(_appointment(world, slot, uid,
                                 item=(world.item, world.other_item)[number % 2]))
    return uid, made


def _notifications(world: World, uid: str, appointment_ids: list[int]) -> list[int]:
    now = datetime.now(UTC)
    with world.session() as session:
        rows = [Notification(uid=uid, kind="booking_confirmed",
                             dedupe_key=f"contract:{next(_serial)}", title="预约成功",
                             body="正文", data={"kind": "booking_confirmed"},
                             appointment_id=appointment_id,
                             due_at=now - timedelta(minutes=number), next_attempt_at=now,
                             created_at=now)
                for number, appointment_id in enumerate(appointment_ids)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


# --- the documents ------------------------------------------------------------------------
# Queries of the demo data (anonymous).

def _paged(**variables) -> Callable:
    return lambda demo, first: (None, {**variables, "first": first})


def _regions(demo: Demo, size: int):
    # the 4 counties of Zhoushan, or the 16 cities of Anhui
    return None, {"parentCode": "330900" if size == FEW else "340000"}


def _cluster_places(demo: Demo, size: int):
    # the 成渝 places within 30 km of Chengdu's centre (dense: one ring for both sizes)
    return None, {"clusterCode": "chengyu", "near": {"lat": 30.66, "lon": 104.06},
                  "radiusMeters": 30_000, "first": size}


def _map_clusters(demo: Demo, size: int):
    # a few cells over West Lake, or the whole of Hangzhou at a finer grid
    if size == FEW:
        bbox = {"south": 30.20, "west": 120.10, "north": 30.32, "east": 120.22}
        return None, {"bbox": bbox, "zoom": 11}
    bbox = {"south": 29.8, "west": 119.5, "north": 30.6, "east": 120.8}
    return None, {"bbox": bbox, "zoom": 12, "crs": "GCJ02"}


# Queries of the world's users.

def _available_slots(world: World, size: int):
    hall, windows = _hall(world, size)
    for window in windows:
        world.add_slot(window, world.day, "09:00")
    day = world.day.isoformat()
    return RESIDENT, {"placeId": str(hall), "serviceItemId": str(world.item), "from": day,
                      "to": day}


def _my_appointments(world: World, size: int):
    uid, _ = _appointments_of(world, size)
    return uid, {}


def _my_notifications(world: World, size: int):
    uid, appointments = _appointments_of(world, size)
    _notifications(world, uid, appointments)
    with world.session() as session:
        session.add_all(Device(token=f"contract-token-{next(_serial)}", uid=uid,
                               platform="android", locale="zh-CN") for _ in range(size))
    return uid, {"first": size}


def _window_day(world: World, size: int):
    window, staff = _window(world)
    for number in range(size):
        slot = world.add_slot(window, world.day, _clock(30 * number))
        _appointment(world, slot, _resident(), item=(world.item, world.other_item)[number % 2])
    return staff, {"windowId": str(window), "date": world.day.isoformat()}


def _window_schedule(world: World, size: int):
    window, staff = _window(world)
    with world.session() as session:
        session.add_all(ScheduleTemplate(window_id=window, weekday=number % 5 + 1,
                                         start_time=time(8 + number), end_time=time(9 + number),
                                         slot_minutes=30, capacity=2)
                        for number in range(size))
    return staff, {"windowId": str(window)}


def _place_windows(world: World, size: int):
    hall, _ = _hall(world, size)
    return None, {"id": str(hall)}


# Mutations, each on state of its own (prepared twice in one world: a warm-up, then the run
# that is counted).

def _book_appointment(world: World, _size: None):
    window, _ = _window(world)
    slot = world.add_slot(window, world.day, "09:00")
    return _resident(), {"slotId": str(slot), "serviceItemId": str(world.item),
                         "idempotencyKey": f"contract-{next(_serial)}"}


def _cancel_appointment(world: World, _size: None):
    window, _ = _window(world)
    uid = _resident()
    appointment = _book(world, world.add_slot(window, world.day, "09:00"), uid)
    return uid, {"id": appointment, "reason": "行程有变"}


def _reschedule_appointment(world: World, _size: None):
    window, _ = _window(world)
    uid = _resident()
    appointment = _book(world, world.add_slot(window, world.day, "09:00"), uid)
    return uid, {"id": appointment, "newSlotId": str(world.add_slot(window, world.day, "09:30"))}


def _check_in(world: World, _size: None):
    window, staff = _window(world)
    code = _serial_code()
    _appointment(world, world.add_slot(window, _today(), "00:00", minutes=1), _resident(),
                 code=code)
    return staff, {"code": f"{code[:4].lower()}-{code[4:].lower()}"}


def _complete_appointment(world: World, _size: None):
    window, staff = _window(world)
    appointment = _appointment(world, world.add_slot(window, _today(), "00:00", minutes=1),
                               _resident(), status="checked_in")
    return staff, {"appointmentId": str(appointment)}


def _mark_no_show(world: World, _size: None):
    window, staff = _window(world)
    appointment = _appointment(world, world.add_slot(window, _today(), "00:00", minutes=1),
                               _resident())
    return staff, {"appointmentId": str(appointment)}


def _close_slot(world: World, _size: None):
    window, staff = _window(world)
    slot = world.add_slot(window, world.day, "09:00")
    _book(world, slot, _resident())
    return staff, {"slotId": str(slot), "reason": "设备维护"}


def _close_day(world: World, _size: None):
    window, staff = _window(world)
    _book(world, world.add_slot(window, world.day, "09:00"), _resident())
    world.add_slot(window, world.day, "09:30")
    return staff, {"windowId": str(window), "date": world.day.isoformat(), "reason": "停电"}


def _window_week(world: World, size: int):
    window, staff = _window(world)
    for number in range(size):
        world.add_slot(window, world.day + timedelta(days=number % 7), _clock(30 * number))
    return staff, {"windowId": str(window), "from": world.day.isoformat(),
                   "to": (world.day + timedelta(days=6)).isoformat()}


def _staff_window(world: World, _size: None):
    window, staff = _window(world)
    return staff, {"id": str(window)}


def _closed_slot(world: World) -> tuple[int, int, str]:
    window, staff = _window(world)
    slot = world.add_slot(window, world.day, "09:00")
    body = world.gql(operation("CloseSlot"), {"slotId": str(slot), "reason": "设备维护"},
                     uid=staff)
    assert body["data"]["closeSlot"]["errors"] == [], body
    return window, slot, staff


def _reopen_slot(world: World, _size: None):
    _, slot, staff = _closed_slot(world)
    return staff, {"slotId": str(slot)}


def _reopen_day(world: World, _size: None):
    window, _, staff = _closed_slot(world)
    return staff, {"windowId": str(window), "date": world.day.isoformat()}


def _close_out_day(world: World, _size: None):
    window, staff = _window(world)
    slot = world.add_slot(window, _today(), "00:00", minutes=1)
    _appointment(world, slot, _resident())
    return staff, {"windowId": str(window), "date": _today().isoformat(), "expectedCount": 1}


def _schedule_template_preview(world: World, _size: None):
    window, staff = _window(world)
    return staff, {"windowId": str(window), **TEMPLATE}


def _set_slot_capacity(world: World, _size: None):
    window, staff = _window(world)
    slot = world.add_slot(window, world.day, "09:00")
    _book(world, slot, _resident())
    return staff, {"slotId": str(slot), "capacity": 4}


TEMPLATE = {"weekday": 6, "start": "09:00", "end": "11:00", "slotMinutes": 30, "capacity": 3}


def _upsert_schedule_template(world: World, _size: None):
    window, staff = _window(world)
    return staff, {"windowId": str(window), **TEMPLATE}


def _delete_schedule_template(world: World, _size: None):
    window, staff = _window(world)
    body = world.gql(operation("UpsertScheduleTemplate"), {"windowId": str(window), **TEMPLATE},
                     uid=staff)
    template = body["data"]["upsertScheduleTemplate"]["template"]
    return staff, {"id": template["id"]}


def _generate_slots(world: World, _size: None):
    window, staff = _window(world)
    with world.session() as session:
        session.add_all(ScheduleTemplate(window_id=window, weekday=weekday,
                                         start_time=time(9), end_time=time(10),
                                         slot_minutes=30, capacity=2)
                        for weekday in range(1, 6))
    start = _today()
    return staff, {"windowId": str(window), "from": start.isoformat(),
                   "to": (start + timedelta(days=14)).isoformat()}


def _upsert_window(world: World, _size: None):
    return EDITOR, {"placeId": str(world.hall_a), "name": f"社保医保窗口 {next(_serial)}",
                    "serviceItemIds": [str(world.item), str(world.other_item)]}


def _register_device(world: World, _size: None):
    return _resident(), {"token": f"contract-token-{next(_serial)}", "platform": "ANDROID",
                         "locale": "zh-CN"}


def _unregister_device(world: World, _size: None):
    uid, variables = _register_device(world, None)
    body = world.gql(operation("RegisterDevice"), variables, uid=uid)
    assert body["data"]["registerDevice"]["errors"] == [], body
    return uid, {"token": variables["token"]}


def _mark_notifications_read(world: World, _size: None):
    uid, appointments = _appointments_of(world, 3)
    return uid, {"ids": [str(n) for n in _notifications(world, uid, appointments)]}


# --- the editor console's place list and hall windows (issue 17, places part) -------------

def _editor_places(world: World, size: int):
    """A page of `size` of the Hangzhou editor's places (more than the large page exist)."""
    with world.session() as session:
        have = session.scalar(select(func.count()).select_from(Place))
        session.add_all(_place(f"editor-list-{n}", f"编辑列表养老院 {n}", HANGZHOU_XIHU, HANGZHOU,
                               "330000", 30.2592 + 0.001 * n, 120.13, kind="ELDERLY_CARE")
                        for n in range(have, LARGE + 5))
    return EDITOR, {"first": size, "archived": False}


def _editor_hall_windows(world: World, size: int):
    """Hall A with `size` windows (inactive ones too), each handling two items."""
    with world.session() as session:
        have = session.scalar(select(func.count()).select_from(ServiceWindow)
                              .where(ServiceWindow.place_id == world.hall_a))
        for n in range(have, size):
            window = ServiceWindow(place_id=world.hall_a, name=f"编辑窗口 {n}",
                                   is_active=n % 2 == 0)
            session.add(window)
            session.flush()
            session.add_all(WindowServiceItem(window_id=window.id, service_item_id=item)
                            for item in (world.item, world.other_item))
        for window in session.scalars(select(ServiceWindow).where(
                ServiceWindow.place_id == world.hall_a).order_by(ServiceWindow.id).offset(size)):
            session.delete(window)
    return EDITOR, {"id": str(world.hall_a)}


CASES: dict[str, Case] = {
    # anonymous, on the demo data
    "NearbyPlaces": Case("demo", _paged(near=HANGZHOU_CENTRE, radiusMeters=30000.0),
                         (SMALL, LARGE)),
    "FindPlaces": Case("demo", _paged(near=HANGZHOU_CENTRE, radiusMeters=30000.0),
                       (SMALL, LARGE)),
    "BrowsePlaces": Case("demo", _paged(regionCode="330100"), (SMALL, LARGE)),
    # selects no `places` per item: ServiceItem.places (one search per item of a page, being
    # batched elsewhere) is reached only for a single item, by ServiceItemPlaces
    "SearchServiceItems": Case("demo", _paged(), (SMALL, LARGE)),
    # by id: a nearest-first search may widen its circle once more for a longer page
    "ServiceItemPlaces": Case("demo", lambda demo, first: (None, {"id": str(demo.item_id),
                                                                 "first": first}),
                              (SMALL, LARGE)),
    "Regions": Case("demo", _regions, (FEW, MANY)),
    "MapClusters": Case("demo", _map_clusters, (FEW, MANY)),
    "PlaceDetail": Case("demo", lambda demo, _: (None, {"id": str(demo.place_id)})),
    "PlaceNavigation": Case("demo", lambda demo, _: (None, {"id": str(demo.place_id)})),
    "PlaceSheet": Case("demo", lambda demo, _: (None, {"id": str(demo.hall_with_windows_id)})),
    "WhereAmI": Case("demo", lambda demo, _: (None, {"point": HANGZHOU_CENTRE})),
    "Clusters": Case("demo", lambda demo, _: (None, {})),
    "ClusterPlaces": Case("demo", _cluster_places, (SMALL, LARGE)),
    "ServiceItemGuide": Case("demo", lambda demo, _: (None, {"id": str(demo.item_id)})),
    "Checklist": Case("demo", lambda demo, _: (None, {"serviceItemId": str(demo.item_id),
                                                      "answers": []})),
    # the world's users: residents, a window's staff, an editor
    "PlaceWindows": Case("world", _place_windows, (FEW, MANY)),
    "AvailableSlots": Case("world", _available_slots, (FEW, MANY)),
    "MyAppointments": Case("world", _my_appointments, (FEW, MANY)),
    "MyNotifications": Case("world", _my_notifications, (FEW, MANY)),
    "WindowDay": Case("world", _window_day, (FEW, MANY)),
    "WindowSchedule": Case("world", _window_schedule, (FEW, MANY)),
    "WindowWeek": Case("world", _window_week, (FEW, MANY)),
    "StaffWindow": Case("world", _staff_window),
    "ReopenSlot": Case("world", _reopen_slot),
    "ReopenDay": Case("world", _reopen_day),
    "CloseOutDay": Case("world", _close_out_day),
    "ScheduleTemplatePreview": Case("world", _schedule_template_preview),
    "BookAppointment": Case("world", _book_appointment),
    "CancelAppointment": Case("world", _cancel_appointment),
    "RescheduleAppointment": Case("world", _reschedule_appointment),
    "CheckIn": Case("world", _check_in),
    "CompleteAppointment": Case("world", _complete_appointment),
    "MarkNoShow": Case("world", _mark_no_show),
    "CloseSlot": Case("world", _close_slot),
    "CloseDay": Case("world", _close_day),
    "SetSlotCapacity": Case("world", _set_slot_capacity),
    "UpsertScheduleTemplate": Case("world", _upsert_schedule_template),
    "DeleteScheduleTemplate": Case("world", _delete_schedule_template),
    "GenerateSlots": Case("world", _generate_slots),
    "UpsertWindow": Case("world", _upsert_window),
    "RegisterDevice": Case("world", _register_device),
    "UnregisterDevice": Case("world", _unregister_device),
    "MarkNotificationsRead": Case("world", _mark_notifications_read),
    # the consoles' frame: who is signed in and their grants
    "ConsoleMe": Case("world", lambda world, _: (EDITOR, {})),
    # the editor console's places (tests/schema/editing_cases.py)
    "CreatePlace": Case("world", editing_cases.create_place),
    "UpdatePlace": Case("world", editing_cases.update_place),
    "ArchivePlace": Case("world", editing_cases.archive_place),
    "RestorePlace": Case("world", editing_cases.restore_place),
    "SetPlaceServiceItems": Case("world", editing_cases.set_place_service_items),
    "RevertPlace": Case("world", editing_cases.revert_place),
    "ImportPlaces": Case("world", editing_cases.import_places),
    "GeocodeAddress": Case("world", editing_cases.geocode_address),
    "UpsertServiceItem": Case("world", editing_cases.upsert_service_item),
    "EditPlace": Case("world", editing_cases.edit_place, (FEW, MANY)),
    # the admin console (tests/schema/admin_cases.py)
    "AdminGrants": Case("world", admin_cases.admin_grants, (FEW, MANY)),
    "AdminWindow": Case("world", admin_cases.admin_window),
    "AdminRegion": Case("world", admin_cases.admin_region),
    "GrantRole": Case("world", admin_cases.grant_role_case),
    "RevokeRole": Case("world", admin_cases.revoke_role),
    "CalendarDays": Case("world", admin_cases.calendar_days, (FEW, MANY)),
    "SetCalendarDay": Case("world", admin_cases.set_calendar_day),
    "ClearCalendarDay": Case("world", admin_cases.clear_calendar_day),
    # residents' reports (纠错) and the editors' queue
    "ReportPlaceIssue": Case("world", editing_cases.report_place_issue),
    "PlaceReports": Case("world", editing_cases.place_reports, (FEW, MANY)),
    "PlaceReport": Case("world", editing_cases.place_report),
    "ResolvePlaceReport": Case("world", editing_cases.resolve_place_report),
    "DismissPlaceReport": Case("world", editing_cases.dismiss_place_report),
    "ServiceItemDocument": Case("world", lambda world, _: (EDITOR, {"id": str(world.item)})),
    # the editor console's place list and hall windows
    "EditorPlaces": Case("world", _editor_places, (SMALL, LARGE)),
    "EditorHallWindows": Case("world", _editor_hall_windows, (FEW, MANY)),
}


@pytest.fixture(scope="module")
def demo(demo_app) -> Demo:  # noqa: ANN001
    with demo_app.extensions["servicemap"].session_factory() as session:
        place_id = session.scalar(select(Place.id).where(Place.kind == "SERVICE_HALL",
                                                         Place.county_code.is_not(None))
                                  .order_by(Place.id).limit(1))
        hall_with_windows_id = session.scalar(select(func.min(ServiceWindow.place_id)))
    return Demo(demo_app, place_id=place_id, item_id=1, hall_with_windows_id=hall_with_windows_id)


def test_contract__every_document__has_a_case_and_a_count():
    documents = {path.stem for path in OPERATIONS_DIR.glob("*.graphql")}
    assert sorted(documents - set(CASES)) == [], "documents without a case in CASES"
    assert sorted(documents - set(COUNTS)) == [], "documents without a count in COUNTS"
    assert sorted(set(CASES) - documents) == [] and sorted(set(COUNTS) - documents) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_contract__document__pinned_statements_not_growing_with_the_page(request, store_name,
                                                                        name):
    case = CASES[name]
    ctx = request.getfixturevalue(case.fixture)
    document = operation(name)
    sizes = case.sizes or (None,)
    # given: a warm-up run (lazy imports, the region index, cached statements)
    _run(ctx, document, *case.prepare(ctx, sizes[0]))

    # when: at each size, on data of its own
    runs = [_run(ctx, document, *case.prepare(ctx, size)) for size in sizes]

    # then: the larger page or list really is larger, and costs what the smaller one does
    counts = [len(statements) for statements, _ in runs]
    print(f"{name} [{store_name}]: {' / '.join(map(str, counts))} statements"
          + (f" at sizes {case.sizes}" if case.sizes else ""))
    if case.sizes:
        small, large = (_items(data) for _, data in runs)
        assert large > small > 0, f"{name}: the larger size shows no more ({small}, {large})"
        assert counts[1] == counts[0], (
            f"{name}: statements grow with the page: {counts}\n"
            f"at {sizes[0]}:\n{_listing(runs[0][0])}\nat {sizes[1]}:\n{_listing(runs[1][0])}")
    pinned = COUNTS[name][0 if store_name == "sqlite" else 1]
    assert counts[0] == pinned, (
        f"{name}: {counts[0]} statements, pinned {pinned}:\n{_listing(runs[0][0])}")


# A relation the page shows, asked for through an ad hoc document (not the app's): every
# place's windows and their items, every window's place and its region chain; every item's
# nearest places.
NESTED = {
    "item places": ("query($first: Int) { serviceItems(first: $first) { edges { node { id "
                    "places(first: 5, near: {lat: 30.27, lon: 120.15}) { edges { distanceMeters "
                    "node { id region { name } } } } } } } }"),
    "windows": ("query($first: Int) { places(regionCode: \"330100\", kinds: [SERVICE_HALL], "
                "first: $first) { edges { node { id windows { id serviceItems { id } "
                "place { id region { name parent { name } } } } } } } }"),
}


@pytest.mark.parametrize("name", sorted(NESTED))
def test_contract__nested_relations_at_two_page_sizes__same_count(demo, name):
    document = NESTED[name]
    _run(demo, document, None, {"first": SMALL})
    small, small_data = _run(demo, document, None, {"first": SMALL})
    large, large_data = _run(demo, document, None, {"first": LARGE})
    assert _items(large_data) > _items(small_data)
    print(f"{name}: {len(small)} statements at first={SMALL}, {len(large)} at first={LARGE}")
    allowed = ROUNDS_ALLOWED.get(name, 0)
    assert len(small) <= len(large) <= len(small) + allowed, \
        f"{_listing(small)}\n--\n{_listing(large)}"


# Searches that may widen their circle, or double their batch, a few more times for a longer
# page: statements allowed beyond the small page's (a bound, not one per row: with one search
# per item, `item places` cost 3 statements per item).
ROUNDS_ALLOWED = {"item places": 3}
