"""The permission matrix of booking: every mutation and every private query, over HTTP /graphql
with real signed ID tokens, as each kind of principal, on both stores.

Policy (DESIGN.md §5–6; the checks live in the domain functions):

- bookAppointment: any signed-in user (staff, editors and admins book for themselves too);
  anonymous → UNAUTHENTICATED, before any id is looked at. availableSlots: public (counts of
  places only).
- cancelAppointment of the resident's appointment at window A1: the owner, staff of A1 and
  admins; anyone else signed in → NOT_FOUND in the payload, exactly as for a missing id.
- rescheduleAppointment: the owner only (anyone else: NOT_FOUND).
- the window's management (schedule templates, slot generation, closing slots and days,
  capacity, no-show, completion, the window's appointments, slots and templates): staff of A1
  and admins; staff of A2 (same hall), the editor of the hall's city and residents → FORBIDDEN.
- checkIn, markNoShow, completeAppointment: staff of the appointment's window and admins;
  staff of another window → NOT_FOUND (as for a missing one); anyone who is no staff →
  FORBIDDEN, before any lookup.
- upsertWindow at hall A (county 330106): an editor of Hangzhou (330100) and admins; an editor
  of another city, staff and residents → FORBIDDEN.
- registerDevice: any signed-in user; unregisterDevice and markNotificationsRead of the
  resident's device / notification: the owner; anyone else signed in gets NOT_FOUND in the
  payload (a token or notification of another user is not revealed to exist).
- me: anonymous → `me: null` without error; a signed-in user sees its own uid and roles; a
  token that does not verify → UNAUTHENTICATED.

Outcomes in the table:
- ALLOWED: no GraphQL error. Each case's setup meets every domain precondition (the slot of
  markNoShow has started, checkIn's appointment is today, completeAppointment's is checked
  in…), so an allowed mutation also has an empty payload `errors` and its effect is asserted.
- UNAUTHENTICATED / FORBIDDEN: exactly one GraphQL error with that `extensions.code`, at the
  operation's path, its field null — and no row of any booking table changed.
- NULL: no error and a null field (anonymous `me`).
- NOT_YOURS: no GraphQL error, the payload's only error NOT_FOUND, and no row changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from backend.accounts.grants import principal_for, touch_account
from backend.accounts.models import Account, RoleGrant
from backend.booking import appointments
from backend.booking.models import (
    Appointment,
    ScheduleTemplate,
    ServiceWindow,
    Slot,
    WindowServiceItem,
)
from backend.core.clock import BUSINESS_TZ
from backend.notify.models import Device, Notification
from backend.places.models import HolidayDay, PlaceReport
from tests.booking.conftest import (
    ADMIN,
    EDITOR,
    HANGZHOU,
    OTHER_RESIDENT,
    OTHER_STAFF,
    RESIDENT,
    STAFF,
    World,
    business_time,
)
from tests.helpers import grant_role, uow_of
from tests.helpers import operation as document
from tests.places.editing_helpers import MUTATIONS as PLACE_MUTATIONS

ALLOWED, FORBIDDEN, UNAUTHENTICATED, NULL = "allowed", "FORBIDDEN", "UNAUTHENTICATED", "null"
NOT_YOURS = "not_yours"

OTHER_CITY_EDITOR = "editor-nanjing"
NANJING = "320100"

PRINCIPALS: dict[str, str | None] = {
    "anonymous": None,
    "resident": RESIDENT,  # owns the appointment under test
    "other_resident": OTHER_RESIDENT,
    "staff": STAFF,  # staff of window A1, "this window"
    "other_staff": OTHER_STAFF,  # staff of window A2 in the same hall
    "editor": EDITOR,  # editor of Hangzhou, which holds hall A
    "admin": ADMIN,
    "other_city_editor": OTHER_CITY_EDITOR,  # editor of Nanjing; granted by the case itself
}
MAIN_PRINCIPALS = [name for name in PRINCIPALS if name != "other_city_editor"]

SEEDED_CODE = "7K3M9QXR"


def policy(*allowed: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The outcome of each of the seven principals: ALLOWED for `allowed`, UNAUTHENTICATED for
    anonymous, FORBIDDEN for anyone else signed in (then `extra` cells)."""
    table = {name: ALLOWED if name in allowed
             else UNAUTHENTICATED if name == "anonymous" else FORBIDDEN
             for name in MAIN_PRINCIPALS}
    return table | (extra or {})


SIGNED_IN = policy(*(name for name in MAIN_PRINCIPALS if name != "anonymous"))
WINDOW_STAFF = policy("staff", "admin")
OWNER_ONLY = policy("resident", extra={name: NOT_YOURS for name in MAIN_PRINCIPALS
                                       if name not in ("anonymous", "resident")})


def not_yours(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, NOT_YOURS)


# An appointment's staff operations: other staff are told it does not exist (NOT_FOUND, as
# for a missing id); those who are no staff at all are FORBIDDEN before any lookup.
OTHER_WINDOW_NOT_FOUND = policy("staff", "admin", extra=not_yours("other_staff"))


# -- setup ------------------------------------------------------------------------------------

@dataclass
class Given:
    """What a case set up before its request."""

    appointment: int | None = None
    code: str | None = None
    template: int | None = None
    extra: dict = field(default_factory=dict)


def nothing(world: World) -> Given:
    return Given()


def booked(world: World) -> Given:
    """RESIDENT's appointment at slot "a1-0900", booked through the domain function (slot
    counter, outbox messages and account row as a real booking leaves them)."""
    with world.session() as session:
        appointment = appointments.book(
            uow_of(session), principal_for(session, RESIDENT), world.rules,
            slot_id=world.slots["a1-0900"], service_item_id=world.item,
            idempotency_key="permissions-setup")
        return Given(appointment=appointment.id, code=appointment.code)


def seeded(world: World, slot_id: int, status: str) -> Given:
    """RESIDENT's appointment in `slot_id` with `status`, written with the ORM: booking through
    the domain cannot make one that has started or is checked in."""
    with world.session() as session:
        touch_account(session, RESIDENT)
        slot = session.get(Slot, slot_id)
        appointment = Appointment(
            uid=RESIDENT, slot_id=slot.id, window_id=slot.window_id,
            service_item_id=world.item, day=slot.day, status=status, code=SEEDED_CODE,
            revision=0, idempotency_key="permissions-seed")
        session.add(appointment)
        session.execute(update(Slot).where(Slot.id == slot.id).values(booked=Slot.booked + 1))
        session.flush()
        return Given(appointment=appointment.id, code=SEEDED_CODE)


def today() -> datetime:
    return datetime.now(BUSINESS_TZ).date()


def booked_today(world: World) -> Given:
    """checkIn works only on the appointment's day (Beijing): a booked appointment today."""
    return seeded(world, world.add_slot(world.window_a1, today(), "23:50"), "booked")


def started(world: World) -> Given:
    """markNoShow needs a started slot: a booked appointment of yesterday."""
    return seeded(world, world.add_slot(world.window_a1, today() - timedelta(days=1), "09:00"),
                  "booked")


def checked_in(world: World) -> Given:
    """completeAppointment needs a checked-in appointment."""
    return seeded(world, world.slots["a1-0900"], "checked_in")


def template(world: World) -> Given:
    """A weekly template of window A1 on the weekday of `world.day`, 14:00–15:00."""
    with world.session() as session:
        row = ScheduleTemplate(window_id=world.window_a1, weekday=world.day.isoweekday(),
                               start_time=datetime.strptime("14:00", "%H:%M").time(),
                               end_time=datetime.strptime("15:00", "%H:%M").time(),
                               slot_minutes=30, capacity=2)
        session.add(row)
        session.flush()
        return Given(template=row.id)


def closed_a1(world: World) -> Given:
    """Window A1's slots of `world.day` closed (by staff, with a reason)."""
    with world.session() as session:
        session.execute(update(Slot).where(Slot.window_id == world.window_a1,
                                           Slot.day == world.day)
                        .values(status="closed", closed_reason="停电", is_manual=True))
    return Given()


# -- what an allowed case changed ------------------------------------------------------------

def appointment_row(world: World, given: Given) -> Appointment:
    (row,) = world.appointments(id=given.appointment)
    return row


def a1_slots(world: World) -> list[Slot]:
    with world.session() as session:
        return list(session.scalars(select(Slot).where(
            Slot.window_id == world.window_a1, Slot.day == world.day).order_by(Slot.starts_at)))


def ids(*values: int) -> list[dict]:
    return [{"id": str(value)} for value in values]


def check_booked(world: World, given: Given, uid: str, data: dict) -> None:
    assert data["bookAppointment"]["appointment"]["status"] == "BOOKED"
    assert [row.uid for row in world.appointments(status="booked")] == [uid]
    assert world.slot(world.slots["a1-0900"]).booked == 1


def check_cancelled(world: World, given: Given, uid: str, data: dict) -> None:
    assert appointment_row(world, given).status == "cancelled"
    assert world.slot(world.slots["a1-0900"]).booked == 0


def check_rescheduled(world: World, given: Given, uid: str, data: dict) -> None:
    assert appointment_row(world, given).slot_id == world.slots["a1-0930"]
    assert world.slot(world.slots["a1-0900"]).booked == 0
    assert world.slot(world.slots["a1-0930"]).booked == 1


def check_template_saved(world: World, given: Given, uid: str, data: dict) -> None:
    with world.session() as session:
        rows = session.scalars(select(ScheduleTemplate.id).where(
            ScheduleTemplate.window_id == world.window_a1)).all()
    assert [str(row) for row in rows] == [data["upsertScheduleTemplate"]["template"]["id"]]


def check_template_deleted(world: World, given: Given, uid: str, data: dict) -> None:
    with world.session() as session:
        assert session.get(ScheduleTemplate, given.template) is None


def check_generated(world: World, given: Given, uid: str, data: dict) -> None:
    assert data["generateSlots"]["created"] == 2
    assert [slot.starts_at.replace(tzinfo=None) for slot in a1_slots(world)] == [
        business_time(world.day, clock).replace(tzinfo=None) for clock in ("14:00", "14:30")]


def check_slot_closed(world: World, given: Given, uid: str, data: dict) -> None:
    assert world.slot(world.slots["a1-0900"]).status == "closed"
    assert world.slot(world.slots["a1-0930"]).status == "open"
    assert appointment_row(world, given).status == "cancelled"


def check_day_closed(world: World, given: Given, uid: str, data: dict) -> None:
    assert [slot.status for slot in a1_slots(world)] == ["closed", "closed"]
    assert world.slot(world.slots["a2-0900"]).status == "open"
    assert appointment_row(world, given).status == "cancelled"


def check_capacity(world: World, given: Given, uid: str, data: dict) -> None:
    assert world.slot(world.slots["a1-0900"]).capacity == 5


def check_slot_reopened(world: World, given: Given, uid: str, data: dict) -> None:
    assert world.slot(world.slots["a1-0900"]).status == "open"
    assert world.slot(world.slots["a1-0930"]).status == "closed"


def check_day_reopened(world: World, given: Given, uid: str, data: dict) -> None:
    assert [slot.status for slot in a1_slots(world)] == ["open", "open"]


def check_closed_out(world: World, given: Given, uid: str, data: dict) -> None:
    assert data["closeOutDay"]["noShows"] == 1
    assert appointment_row(world, given).status == "no_show"


def check_preview(world: World, given: Given, uid: str, data: dict) -> None:
    assert data["scheduleTemplatePreview"]["slotCount"] >= 2


def status_is(status: str) -> Callable[[World, Given, str, dict], None]:
    def check(world: World, given: Given, uid: str, data: dict) -> None:
        assert appointment_row(world, given).status == status

    return check


def check_window_created(world: World, given: Given, uid: str, data: dict) -> None:
    window_id = int(data["upsertWindow"]["window"]["id"])
    with world.session() as session:
        window = session.get(ServiceWindow, window_id)
        assert (window.place_id, window.name) == (world.hall_a, "新设窗口")
        assert session.scalars(select(WindowServiceItem.service_item_id).where(
            WindowServiceItem.window_id == window_id)).all() == [world.item]


def resident_device(world: World) -> Given:
    with world.session() as session:
        session.add(Device(token="resident-phone", uid=RESIDENT, platform="android"))
    return Given()


def resident_notification(world: World) -> Given:
    with world.session() as session:
        note = Notification(uid=RESIDENT, kind="booking_confirmed", dedupe_key="permissions",
                            title="预约成功", body="正文", data={}, status="sent")
        session.add(note)
        session.flush()
        return Given(extra={"notification": note.id})


def check_device_registered(world: World, given: Given, uid: str, data: dict) -> None:
    assert data["registerDevice"]["device"] == {"token": "perm-device", "platform": "IOS"}
    with world.session() as session:
        assert session.scalars(select(Device.uid)).all() == [uid]


def check_device_removed(world: World, given: Given, uid: str, data: dict) -> None:
    with world.session() as session:
        assert session.scalars(select(Device)).all() == []


def check_read(world: World, given: Given, uid: str, data: dict) -> None:
    assert data["markNotificationsRead"]["unreadCount"] == 0
    with world.session() as session:
        assert session.get(Notification, given.extra["notification"]).read_at is not None


def check_me(world: World, given: Given, uid: str, data: dict) -> None:
    roles = {
        STAFF: [{"role": "staff", "scope": str(world.window_a1)}],
        OTHER_STAFF: [{"role": "staff", "scope": str(world.window_a2)}],
        EDITOR: [{"role": "editor", "scope": HANGZHOU}],
        ADMIN: [{"role": "admin", "scope": ""}],
    }
    assert data["me"] == {
        "uid": uid, "roles": roles.get(uid, []),
        "appointments": ids(given.appointment) if uid == RESIDENT else [],
    }


def check_available(world: World, given: Given, uid: str, data: dict) -> None:
    assert data["availableSlots"] == ids(world.slots["a1-0900"], world.slots["a1-0930"])


def check_window_appointments(world: World, given: Given, uid: str, data: dict) -> None:
    assert data["windowAppointments"] == ids(given.appointment)


def check_window_slots(world: World, given: Given, uid: str, data: dict) -> None:
    assert data["windowSlots"] == ids(world.slots["a1-0900"], world.slots["a1-0930"])


def check_templates(world: World, given: Given, uid: str, data: dict) -> None:
    assert data["window"] == {"id": str(world.window_a1), "scheduleTemplates": ids(given.template)}


# Admins' grants and calendar, residents' reports (纠错): their rows in the same matrix.
GRANTED = "perm-granted"
CALENDAR_DAY = date(2099, 10, 8)  # far ahead: no slot of the world's windows reaches it


def editor_to_revoke(world: World) -> Given:
    with world.session() as session:
        grant_role(session, GRANTED, "editor", region_code=HANGZHOU)
    return Given()


def ordinary_calendar_day(world: World) -> Given:
    """The calendar table outlives a world: the day starts unlisted."""
    with world.session() as session:
        session.execute(delete(HolidayDay).where(HolidayDay.day == CALENDAR_DAY))
    return Given()


def manual_holiday(world: World) -> Given:
    with world.session() as session:
        session.merge(HolidayDay(day=CALENDAR_DAY, kind="holiday", name="测试假日",
                                 source="manual"))
    return Given()


def report_after_an_edit(world: World) -> Given:
    """RESIDENT's open report of hall A (Hangzhou), then the Hangzhou editor's edit of the
    place (the version a resolution names)."""
    filed = world.gql(document("ReportPlaceIssue"), {
        "placeId": str(world.hall_a), "reason": "WRONG_HOURS"}, uid=RESIDENT)
    assert filed["data"]["reportPlaceIssue"]["errors"] == [], filed
    edited = world.gql(document("UpdatePlace"), {
        "id": str(world.hall_a), "version": 1,
        "input": {"openingHours": "Mo-Fr 09:00-17:00"}}, uid=EDITOR)
    assert edited["data"]["updatePlace"]["errors"] == [], edited
    return Given(extra={"report": filed["data"]["reportPlaceIssue"]["report"]["id"],
                        "version": edited["data"]["updatePlace"]["place"]["version"]})


def check_granted(world: World, given: Given, uid: str, data: dict) -> None:
    assert data["grantRole"]["grant"]["uid"] == GRANTED
    with world.session() as session:
        assert session.scalars(select(RoleGrant.scope).filter_by(uid=GRANTED)).all() == [HANGZHOU]


def check_revoked(world: World, given: Given, uid: str, data: dict) -> None:
    assert data["revokeRole"]["revoked"] is True
    with world.session() as session:
        assert session.scalars(select(RoleGrant).filter_by(uid=GRANTED)).all() == []


def check_calendar_set(world: World, given: Given, uid: str, data: dict) -> None:
    with world.session() as session:
        assert session.get(HolidayDay, CALENDAR_DAY).kind == "holiday"


def check_calendar_cleared(world: World, given: Given, uid: str, data: dict) -> None:
    with world.session() as session:  # pinned ordinary by hand (seeding keeps the pin)
        assert session.get(HolidayDay, CALENDAR_DAY).kind == "ordinary"


def check_reported(world: World, given: Given, uid: str, data: dict) -> None:
    with world.session() as session:
        assert session.scalars(select(PlaceReport.uid)).all() == [uid]


def report_status(status: str) -> Callable[[World, Given, str, dict], None]:
    def check(world: World, given: Given, uid: str, data: dict) -> None:
        with world.session() as session:
            assert session.scalars(select(PlaceReport.status)).all() == [status]
    return check


# Reports are handled by the editors of the place's region (and admins); an editor elsewhere
# is told the report does not exist.
REGION_EDITORS = policy("editor", "admin", extra=not_yours("other_city_editor"))


# -- the operations ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Operation:
    document: str
    variables: Callable[[World, Given], dict]
    policy: dict[str, str]
    effect: Callable[[World, Given, str, dict], None]
    given: Callable[[World], Given] = nothing
    path: tuple[str, ...] = ()  # of the refused field; the operation's name by default
    payload: bool = True  # a mutation payload with `errors`


PAYLOAD_ERRORS = "errors { code field message }"

OPERATIONS: dict[str, Operation] = {
    "bookAppointment": Operation(
        f"""mutation($slot: ID!, $item: ID!) {{
          bookAppointment(slotId: $slot, serviceItemId: $item, idempotencyKey: "perm-1") {{
            appointment {{ id status }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"slot": str(w.slots["a1-0900"]), "item": str(w.item)},
        SIGNED_IN, check_booked),
    "cancelAppointment": Operation(
        f"""mutation($id: ID!) {{ cancelAppointment(id: $id, reason: "临时有事") {{
            appointment {{ id status }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"id": str(g.appointment)},
        policy("resident", "staff", "admin", extra=not_yours("other_resident", "other_staff",
                                                            "editor")),
        check_cancelled, booked),
    "rescheduleAppointment": Operation(
        f"""mutation($id: ID!, $slot: ID!) {{ rescheduleAppointment(id: $id, newSlotId: $slot) {{
            appointment {{ id slot {{ id }} }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"id": str(g.appointment), "slot": str(w.slots["a1-0930"])},
        OWNER_ONLY, check_rescheduled, booked),
    "upsertScheduleTemplate": Operation(
        f"""mutation($window: ID!, $weekday: Int!) {{
          upsertScheduleTemplate(windowId: $window, weekday: $weekday, start: "14:00",
                                 end: "15:00", slotMinutes: 30, capacity: 2) {{
            template {{ id }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"window": str(w.window_a1), "weekday": w.day.isoweekday()},
        WINDOW_STAFF, check_template_saved),
    "deleteScheduleTemplate": Operation(
        f"""mutation($id: ID!) {{ deleteScheduleTemplate(id: $id) {{
            template {{ id }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"id": str(g.template)},
        WINDOW_STAFF, check_template_deleted, template),
    "generateSlots": Operation(
        f"""mutation($window: ID!, $day: Date!) {{ generateSlots(windowId: $window, from: $day,
            to: $day) {{ created removed {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"window": str(w.window_a1), "day": w.day.isoformat()},
        WINDOW_STAFF, check_generated, template),
    "closeSlot": Operation(
        f"""mutation($slot: ID!) {{ closeSlot(slotId: $slot, reason: "系统维护") {{
            slot {{ id status }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"slot": str(w.slots["a1-0900"])},
        WINDOW_STAFF, check_slot_closed, booked),
    "closeDay": Operation(
        f"""mutation($window: ID!, $day: Date!) {{ closeDay(windowId: $window, date: $day,
            reason: "停电") {{ slots {{ id status }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"window": str(w.window_a1), "day": w.day.isoformat()},
        WINDOW_STAFF, check_day_closed, booked),
    "setSlotCapacity": Operation(
        f"""mutation($slot: ID!) {{ setSlotCapacity(slotId: $slot, capacity: 5) {{
            slot {{ id capacity }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"slot": str(w.slots["a1-0900"])},
        WINDOW_STAFF, check_capacity, booked),
    "reopenSlot": Operation(
        f"""mutation($slot: ID!) {{ reopenSlot(slotId: $slot) {{
            slot {{ id status }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"slot": str(w.slots["a1-0900"])},
        WINDOW_STAFF, check_slot_reopened, closed_a1),
    "reopenDay": Operation(
        f"""mutation($window: ID!, $day: Date!) {{ reopenDay(windowId: $window, date: $day) {{
            slots {{ id status }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"window": str(w.window_a1), "day": w.day.isoformat()},
        WINDOW_STAFF, check_day_reopened, closed_a1),
    "closeOutDay": Operation(
        f"""mutation($window: ID!, $day: Date!) {{ closeOutDay(windowId: $window, date: $day) {{
            noShows {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"window": str(w.window_a1),
                      "day": (today() - timedelta(days=1)).isoformat()},
        WINDOW_STAFF, check_closed_out, started),
    "checkIn": Operation(
        f"""mutation($code: String!) {{ checkIn(code: $code) {{
            appointment {{ id status }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"code": g.code},
        OTHER_WINDOW_NOT_FOUND, status_is("checked_in"), booked_today),
    "markNoShow": Operation(
        f"""mutation($id: ID!) {{ markNoShow(appointmentId: $id) {{
            appointment {{ id status }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"id": str(g.appointment)},
        OTHER_WINDOW_NOT_FOUND, status_is("no_show"), started),
    "completeAppointment": Operation(
        f"""mutation($id: ID!) {{ completeAppointment(appointmentId: $id) {{
            appointment {{ id status }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"id": str(g.appointment)},
        OTHER_WINDOW_NOT_FOUND, status_is("completed"), checked_in),
    "upsertWindow": Operation(
        f"""mutation($place: ID!, $items: [ID!]!) {{ upsertWindow(placeId: $place,
            name: "新设窗口", serviceItemIds: $items) {{ window {{ id }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"place": str(w.hall_a), "items": [str(w.item)]},
        policy("editor", "admin", extra={"other_city_editor": FORBIDDEN}),
        check_window_created),
    "registerDevice": Operation(
        f"""mutation {{ registerDevice(token: "perm-device", platform: IOS) {{
            device {{ token platform }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {}, SIGNED_IN, check_device_registered),
    "unregisterDevice": Operation(
        f"""mutation {{ unregisterDevice(token: "resident-phone") {{
            device {{ token }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {}, OWNER_ONLY, check_device_removed, resident_device),
    "markNotificationsRead": Operation(
        f"""mutation($id: ID!) {{ markNotificationsRead(ids: [$id]) {{
            unreadCount {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"id": str(g.extra["notification"])}, OWNER_ONLY, check_read,
        resident_notification),
    "me": Operation(
        "{ me { uid roles { role scope } appointments { id } } }",
        lambda w, g: {},
        SIGNED_IN | {"anonymous": NULL}, check_me, booked, payload=False),
    "availableSlots": Operation(
        """query($item: ID!, $window: ID!, $day: Date!) { availableSlots(serviceItemId: $item,
            windowId: $window, from: $day, to: $day) { id } }""",
        lambda w, g: {"item": str(w.item), "window": str(w.window_a1), "day": w.day.isoformat()},
        policy(*MAIN_PRINCIPALS), check_available, payload=False),
    "windowAppointments": Operation(
        """query($window: ID!, $day: Date!) {
            windowAppointments(windowId: $window, date: $day) { id } }""",
        lambda w, g: {"window": str(w.window_a1), "day": w.day.isoformat()},
        WINDOW_STAFF, check_window_appointments, booked, payload=False),
    "windowSlots": Operation(
        """query($window: ID!, $day: Date!) {
            windowSlots(windowId: $window, from: $day, to: $day) { id } }""",
        lambda w, g: {"window": str(w.window_a1), "day": w.day.isoformat()},
        WINDOW_STAFF, check_window_slots, payload=False),
    "scheduleTemplatePreview": Operation(
        """query($window: ID!) { scheduleTemplatePreview(windowId: $window, weekday: 3,
            start: "09:00", end: "10:00", slotMinutes: 30, capacity: 2) { slotCount } }""",
        lambda w, g: {"window": str(w.window_a1)},
        WINDOW_STAFF, check_preview, payload=False),
    "grantRole": Operation(
        f"""mutation($uid: String!, $region: String) {{
          grantRole(uid: $uid, role: "editor", regionCode: $region) {{
            grant {{ uid role scope }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"uid": GRANTED, "region": HANGZHOU},
        policy("admin"), check_granted),
    "revokeRole": Operation(
        f"""mutation($uid: String!, $region: String) {{
          revokeRole(uid: $uid, role: "editor", regionCode: $region) {{
            revoked {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"uid": GRANTED, "region": HANGZHOU},
        policy("admin"), check_revoked, editor_to_revoke),
    "setCalendarDay": Operation(
        f"""mutation($day: Date!) {{
          setCalendarDay(date: $day, kind: HOLIDAY, name: "测试假日") {{
            changed {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"day": CALENDAR_DAY.isoformat()},
        policy("admin"), check_calendar_set, ordinary_calendar_day),
    "clearCalendarDay": Operation(
        f"""mutation($day: Date!) {{
          clearCalendarDay(date: $day) {{ changed {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"day": CALENDAR_DAY.isoformat()},
        policy("admin"), check_calendar_cleared, manual_holiday),
    "reportPlaceIssue": Operation(
        f"""mutation($place: ID!) {{ reportPlaceIssue(placeId: $place, reason: MOVED) {{
            report {{ id }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"place": str(w.hall_a)},
        SIGNED_IN, check_reported),
    "resolvePlaceReport": Operation(
        f"""mutation($id: ID!, $version: Int!) {{
          resolvePlaceReport(id: $id, placeVersion: $version) {{
            report {{ id status }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"id": g.extra["report"], "version": g.extra["version"]},
        REGION_EDITORS, report_status("resolved"), report_after_an_edit),
    "dismissPlaceReport": Operation(
        f"""mutation($id: ID!) {{ dismissPlaceReport(id: $id, reason: "经核实信息无误") {{
            report {{ id status }} {PAYLOAD_ERRORS} }} }}""",
        lambda w, g: {"id": g.extra["report"]},
        REGION_EDITORS, report_status("dismissed"), report_after_an_edit),
    "Window.scheduleTemplates": Operation(
        """query($window: ID!) { window(id: $window) { id scheduleTemplates { id } } }""",
        lambda w, g: {"window": str(w.window_a1)},
        WINDOW_STAFF, check_templates, template, path=("window", "scheduleTemplates"),
        payload=False),
}

MATRIX = [
    pytest.param(name, who, outcome, id=f"{name}-{who}-{outcome}")
    for name, operation in OPERATIONS.items() for who, outcome in operation.policy.items()
]

# Everything a refused operation could have written.
WATCHED = [model.__table__ for model in (Account, RoleGrant, ServiceWindow, WindowServiceItem,
                                         ScheduleTemplate, Slot, Appointment, Notification,
                                         Device, HolidayDay, PlaceReport)]


def snapshot(world: World) -> dict[str, list[tuple]]:
    with world.session() as session:
        return {table.name: [tuple(row) for row in session.execute(
            select(table).order_by(*table.primary_key.columns))] for table in WATCHED}


# -- the tests ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "who", "expected"), MATRIX)
def test_permissions__operation_by_principal__allowed_or_refused_without_change(
        world: World, name: str, who: str, expected: str) -> None:
    """One cell of the matrix: `who` sends operation `name` over HTTP. Allowed: no GraphQL
    error, no payload error, and the effect is there. Refused: one GraphQL error with the
    expected `extensions.code`, the field null, and every watched table as it was."""
    operation = OPERATIONS[name]
    uid = PRINCIPALS[who]
    if who == "other_city_editor":
        with world.session() as session:
            grant_role(session, OTHER_CITY_EDITOR, "editor", region_code=NANJING)
    given = operation.given(world)
    variables = operation.variables(world, given)
    before = snapshot(world)

    body = world.gql(operation.document, variables, uid=uid)

    path = list(operation.path or (name,))
    if expected == ALLOWED:
        assert "errors" not in body, body
        if operation.payload:
            assert body["data"][name]["errors"] == [], body
        operation.effect(world, given, uid, body["data"])
        return
    if expected == NULL:
        assert "errors" not in body, body
        assert body["data"] == {path[0]: None}, body
    elif expected == NOT_YOURS:
        assert "errors" not in body, body
        assert [error["code"] for error in body["data"][name]["errors"]] == ["NOT_FOUND"], body
    else:
        codes = [error.get("extensions", {}).get("code") for error in body.get("errors", [])]
        assert codes == [expected], body
        assert body["errors"][0]["path"] == path, body
        assert (body.get("data") or {}).get(path[0]) is None, body
    assert snapshot(world) == before


def test_permissions__me_with_invalid_token__unauthenticated(world: World) -> None:
    """A token that does not verify is not silently anonymous when asking who one is."""
    response = world.app.test_client().post(
        "/graphql", json={"query": "{ me { uid } }"},
        headers={"Authorization": "Bearer garbage"})
    body = response.get_json()
    assert response.status_code == 200, body
    assert [error["extensions"]["code"] for error in body["errors"]] == [UNAUTHENTICATED], body
    assert body["errors"][0]["path"] == ["me"]
    assert (body.get("data") or {}).get("me") is None


def test_permissions__matrix__covers_every_mutation_and_principal() -> None:
    """A mutation added to the schema must get its row in the matrix."""
    from backend.schema.schema import schema

    # Editing places has a matrix of its own (tests/places/test_editing_permissions.py).
    mutations = set(schema.graphql_schema.mutation_type.fields) - PLACE_MUTATIONS
    assert mutations <= set(OPERATIONS), mutations - set(OPERATIONS)
    for name, operation in OPERATIONS.items():
        assert set(MAIN_PRINCIPALS) <= set(operation.policy), name


@pytest.mark.parametrize(("name", "who"), [
    ("cancelAppointment", "other_resident"), ("cancelAppointment", "other_staff"),
    ("rescheduleAppointment", "other_resident"), ("rescheduleAppointment", "staff"),
    ("markNoShow", "other_staff"), ("completeAppointment", "other_staff"),
])
def test_permissions__someone_elses_appointment__answered_exactly_like_a_missing_one(
        world: World, name: str, who: str) -> None:
    operation = OPERATIONS[name]
    given = operation.given(world)
    variables = operation.variables(world, given)
    missing = {**variables, "id": str(10**9)}
    before = snapshot(world)
    theirs = world.gql(operation.document, variables, uid=PRINCIPALS[who])
    assert theirs == world.gql(operation.document, missing, uid=PRINCIPALS[who])
    assert [error["code"] for error in theirs["data"][name]["errors"]] == ["NOT_FOUND"]
    assert snapshot(world) == before
