"""Residents' side of booking: available slots, book, cancel, reschedule.

Capacity is never checked-then-written: a slot's place is taken by one conditional UPDATE
(`booked < capacity`) inside the transaction that creates the appointment, and the CHECK
constraint on `slot` backs it. Per-resident rules (idempotency, one per item and day, at most
N active) are decided under the resident's lock: the first write of every booking
transaction is to the resident's `account` row, which serializes one resident's bookings on
PostgreSQL (row lock) and all writers on SQLite (its single write lock). Lock order
everywhere: resident, slot(s), appointment.

`book` is the hot path of a slot release (the booking rush): a new booking is four statements
on PostgreSQL — the item, slot, window and hall in one read, with the resident's lock as a
data-modifying CTE of it (on SQLite the lock is a statement of its own, after the read); the
resident's active appointments and the key's, in one read (idempotency and limits
decided from it); the place and the appointment in one statement (a CTE: the conditional
UPDATE … RETURNING feeds the INSERT); the outbox rows (notify's handler) — and six on SQLite,
where the lock, the UPDATE and the INSERT are statements of their own. The writes and the read
go around the ORM (Core), and the rows read are handed back with the appointment, so the
API's answer needs no more reads.
A check-in code already held by an active appointment is drawn again by ON CONFLICT DO NOTHING
on the partial unique index (no SELECT per code; a PostgreSQL transaction is not aborted)."""

from __future__ import annotations

import functools
import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import and_, bindparam, exists, func, inspect, or_, select, text, true, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from backend.accounts.locking import lock_account, lock_statement
from backend.accounts.models import Account
from backend.accounts.principal import Principal
from backend.booking.errors import BookingError
from backend.booking.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentDetails,
    AppointmentMoved,
)
from backend.booking.models import (
    ACTIVE_SQL,
    ACTIVE_STATUSES,
    Appointment,
    ServiceWindow,
    Slot,
    WindowServiceItem,
)
from backend.booking.permissions import (
    require_owner,
    require_owner_or_window_staff,
    require_resident,
)
from backend.booking.rules import BookingRules
from backend.booking.windows import window_handles
from backend.core.clock import as_utc, business_date, utcnow
from backend.core.errors import InvalidInput
from backend.core.unit_of_work import UnitOfWork
from backend.db import detached_instance, insert_construct
from backend.guidance.models import ServiceItem
from backend.guidance.queries import Checklist, checklist, guide_of
from backend.places.models import Place

# Crockford's base32 without I, L, O, U: 8 characters are 40 bits, read aloud without doubt.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
MAX_IDEMPOTENCY_KEY = 64
MAX_REASON = 200
MAX_SLOT_RANGE_DAYS = 31


def new_check_in_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """What a clerk types or a scanner reads: case, spaces and dashes do not matter, and the
    letters Crockford reads as digits (O→0, I/L→1) are read so."""
    cleaned = "".join(text.split()).replace("-", "").upper()
    return cleaned.translate(str.maketrans("OIL", "011"))


def lock_resident(session: Session, uid: str, now: datetime) -> None:
    """The resident's lock (their account row): the first write of a booking transaction."""
    lock_account(session, uid, now)


def _reread(session: Session, model, key):
    return session.get(model, key, populate_existing=True)


def _check_bookable_row(rules: BookingRules, slot: Slot, window: ServiceWindow, place: Place,
                        handled: bool, now: datetime) -> None:
    # An archived place's slots are closed by its archiving; slots generated later are not.
    if not window.is_active or slot.status != "open" or place.archived:
        raise BookingError("SLOT_CLOSED", field="slotId")
    if not handled:
        raise BookingError("ITEM_NOT_HANDLED", field="serviceItemId")
    if as_utc(slot.starts_at) - timedelta(minutes=rules.cutoff_minutes) <= now:
        raise BookingError("TOO_LATE",
                           f"须在时段开始前 {rules.cutoff_minutes} 分钟完成预约", "slotId")
    if slot.day > business_date(now) + timedelta(days=rules.horizon_days):
        raise BookingError("OUT_OF_HORIZON",
                           f"只能预约 {rules.horizon_days} 天内的时段", "slotId")


def _check_bookable(session: Session, rules: BookingRules, slot: Slot, service_item_id: int,
                    now: datetime) -> ServiceWindow:
    window = session.get(ServiceWindow, slot.window_id)
    _check_bookable_row(rules, slot, window, session.get(Place, window.place_id),
                        window_handles(session, slot.window_id, service_item_id), now)
    return window


def _refuse_over_limits(rules: BookingRules, active: int, same_day: int, same_slot: int,
                        moving: bool = False) -> None:
    """The per-resident rules, from the resident's active appointments (without the one being
    moved): those of the slot, those of the item on the slot's day, all of them."""
    if same_slot:
        # One place of a slot per resident, whatever the item: a second is someone else's.
        raise BookingError("ALREADY_BOOKED", "您已预约该时段", "slotId")
    if same_day >= rules.max_per_item_per_day:
        raise BookingError("ALREADY_BOOKED", field="slotId")
    if not moving and active >= rules.max_active:
        raise BookingError("LIMIT_REACHED", f"每人最多同时持有 {rules.max_active} 个有效预约")


def _check_resident_limits(session: Session, rules: BookingRules, uid: str, service_item_id: int,
                           day: date, slot_id: int, moving: Appointment | None = None) -> None:
    same_item_day = and_(Appointment.service_item_id == service_item_id, Appointment.day == day)
    counts = select(func.count(), func.count().filter(same_item_day),
                    func.count().filter(Appointment.slot_id == slot_id)).where(
        Appointment.uid == uid, Appointment.status.in_(ACTIVE_STATUSES))
    if moving is not None:
        counts = counts.where(Appointment.id != moving.id)
    active, same_day, same_slot = session.execute(counts).one()
    _refuse_over_limits(rules, active, same_day, same_slot, moving=moving is not None)


def _take_place(session: Session, slot_id: int) -> None:
    """The conditional update that decides capacity."""
    taken = session.execute(
        update(Slot).where(Slot.id == slot_id, Slot.status == "open",
                           Slot.booked < Slot.capacity)
        .values(booked=Slot.booked + 1)
    ).rowcount
    if taken != 1:
        slot = _reread(session, Slot, slot_id)
        code = "SLOT_CLOSED" if slot.status != "open" else "SLOT_FULL"
        raise BookingError(code, field="slotId")


def _lock_slots(session: Session, slot_ids: list[int]) -> None:
    """Row locks on slots, in id order (PostgreSQL; SQLite's write lock is held already)."""
    session.execute(select(Slot.id).where(Slot.id.in_(sorted(set(slot_ids))))
                    .order_by(Slot.id).with_for_update())


def _release_place(session: Session, slot_id: int) -> None:
    session.execute(update(Slot).where(Slot.id == slot_id, Slot.booked > 0)
                    .values(booked=Slot.booked - 1))


_SLOT = Slot.__table__
_APPOINTMENT = Appointment.__table__
CODE_ATTEMPTS = 5

# The statements of a booking are built once (per store) with bound parameters: building and
# hashing SQLAlchemy constructs per request cost more than running them (a profile of the
# rush: statement construction and cache keys were the largest part of `book`). A statement
# object keeps its cache key, so each is compiled once, too.
_APPOINTMENT_COLUMNS = ("uid", "slot_id", "window_id", "service_item_id", "day", "status",
                        "idempotency_key", "booked_slot_id", "revision", "answers",
                        "cancel_reason", "checked_in_at", "created_at", "updated_at", "code")


def _value(column: str):  # noqa: ANN202
    return bindparam(f"v_{column}", type_=_APPOINTMENT.c[column].type)


def _insert_ignoring_code(store: str, select_from=None):  # noqa: ANN001, ANN202
    """INSERT of an appointment that does nothing when its check-in code is held by an active
    appointment (the partial unique index decides: ON CONFLICT on it, so a collision neither
    aborts a PostgreSQL transaction nor needs a SELECT per code); RETURNING its id. With
    `select_from` (a CTE), the row is inserted only if the CTE gives one, with its slot id."""
    insert = insert_construct(store)(_APPOINTMENT)
    if select_from is None:
        insert = insert.values({column: _value(column) for column in _APPOINTMENT_COLUMNS})
    else:
        insert = insert.from_select(list(_APPOINTMENT_COLUMNS), select(*(
            select_from.c.id if column == "slot_id" else _value(column)
            for column in _APPOINTMENT_COLUMNS)).select_from(select_from))
    return insert.on_conflict_do_nothing(
        index_elements=["code"], index_where=text(ACTIVE_SQL),
    ).returning(_APPOINTMENT.c.id)


# The rows a booking reads (item, slot, window, hall; then whether the window handles the
# item), as plain columns: loading four ORM entities cost more than the statement (the rush's
# profile); the objects are made from the row as the ORM would load them, detached.
_READ_MODELS = (ServiceItem, Slot, ServiceWindow, Place, WindowServiceItem)


@functools.cache
def _attributes(model) -> tuple:  # noqa: ANN001
    """(attribute name, table column) of every column attribute of a mapped class, its
    primary key (one column: `id`) first."""
    attributes = [(prop.key, prop.columns[0]) for prop in inspect(model).column_attrs]
    return tuple(sorted(attributes, key=lambda attribute: not attribute[1].primary_key))


def _detached(model, values: tuple):  # noqa: ANN001, ANN202
    """A detached instance of `model` with every column attribute loaded from `values` (in
    `_attributes` order): None for a row the outer join did not find (no primary key)."""
    if values[0] is None:  # the primary key (first): no such row
        return None
    return detached_instance(model, _attribute_keys(model), values)


@functools.cache
def _attribute_keys(model) -> tuple[str, ...]:  # noqa: ANN001
    return tuple(key for key, _column in _attributes(model))


@functools.cache
def _booking_statements(store: str) -> dict:
    """The statements of `book_described` on `store` ("sqlite" or "postgresql")."""
    taken_place = (update(_SLOT)
                   .where(_SLOT.c.id == bindparam("v_slot_id"), _SLOT.c.status == "open",
                          _SLOT.c.booked < _SLOT.c.capacity)
                   .values(booked=_SLOT.c.booked + 1)
                   .returning(_SLOT.c.id, _SLOT.c.booked))
    statements = {"take_place": taken_place, "insert": _insert_ignoring_code(store)}
    if store == "postgresql":
        taken = taken_place.cte("taken")
        made = _insert_ignoring_code(store, select_from=taken).cte("made")
        statements["take_place_and_insert"] = select(taken.c.booked, made.c.id).select_from(
            taken.outerjoin(made, true()))
    item, slot, window, place, handled = (model.__table__ for model in _READ_MODELS)
    handles = exists().where(handled.c.window_id == slot.c.window_id,
                             handled.c.service_item_id == bindparam("item_id"))
    statements["read"] = (
        select(*(column for model in _READ_MODELS[:4] for _key, column in _attributes(model)),
               handles)
        .select_from(item)
        .outerjoin(slot, slot.c.id == bindparam("slot_id"))
        .outerjoin(window, window.c.id == slot.c.window_id)
        .outerjoin(place, place.c.id == window.c.place_id)
        .where(item.c.id == bindparam("item_id")))
    if store == "postgresql":
        # The resident's lock sent with the read, as a data-modifying CTE (one round trip
        # fewer): PostgreSQL runs it whether or not the read finds a row, and the read's
        # snapshot is the statement's start, as a read sent before the lock would see.
        lock = lock_statement(store).returning(Account.__table__.c.uid).cte("resident_lock")
        statements["read_and_lock"] = statements["read"].add_cte(lock)
    statements["mine"] = (
        select(_APPOINTMENT.c.id, _APPOINTMENT.c.idempotency_key, _APPOINTMENT.c.status,
               _APPOINTMENT.c.service_item_id, _APPOINTMENT.c.day, _APPOINTMENT.c.slot_id)
        .where(_APPOINTMENT.c.uid == bindparam("uid"),
               or_(_APPOINTMENT.c.status.in_(ACTIVE_STATUSES),
                   _APPOINTMENT.c.idempotency_key == bindparam("key"))))
    return statements


def _store_of(session: Session) -> str:
    return session.get_bind().dialect.name


def _take_place_and_insert(session: Session, values: dict) -> tuple[dict, int]:
    """Take a place of the slot (the conditional update that decides capacity) and insert the
    appointment with a fresh check-in code: (its values with its id, the slot's new `booked`).
    On PostgreSQL one statement (the UPDATE … RETURNING in a CTE feeding the INSERT), on
    SQLite two (its RETURNING has no data-modifying CTEs). A code already held (odds ~1e-12
    per booking) is drawn again, the place kept."""
    statements = _booking_statements(_store_of(session))
    values = {**values, "code": new_check_in_code()}
    parameters = {f"v_{column}": values[column] for column in _APPOINTMENT_COLUMNS}
    if "take_place_and_insert" in statements:
        row = session.execute(statements["take_place_and_insert"], parameters).first()
        booked, appointment_id = row if row is not None else (None, None)
    else:
        row = session.execute(statements["take_place"], parameters).first()
        booked = None if row is None else row.booked
        appointment_id = None if booked is None else session.execute(
            statements["insert"], parameters).scalar()
    if booked is None:
        slot = _reread(session, Slot, values["slot_id"])
        raise BookingError("SLOT_CLOSED" if slot.status != "open" else "SLOT_FULL",
                           field="slotId")
    for _ in range(CODE_ATTEMPTS):
        if appointment_id is not None:
            values["id"] = appointment_id
            return values, booked
        values["code"] = parameters["v_code"] = new_check_in_code()
        appointment_id = session.execute(statements["insert"], parameters).scalar()
    raise RuntimeError(f"could not draw a free check-in code in {CODE_ATTEMPTS + 1} attempts")


def _read_for_booking(session: Session, slot_id: int, service_item_id: int, uid: str,
                      now: datetime) -> tuple[ServiceItem | None, Slot | None,
                                              ServiceWindow | None, Place | None, bool, bool]:
    """The item, the slot, its window and hall, whether the window handles the item, and
    whether the resident's lock was taken with them: one statement (a second only when the
    item does not exist, for the slot's NOT_FOUND). On PostgreSQL the lock goes with the read;
    on SQLite (no data-modifying CTEs) the caller takes it next."""
    statements = _booking_statements(_store_of(session))
    together = "read_and_lock" in statements
    row = session.execute(statements["read_and_lock" if together else "read"],
                          {"slot_id": slot_id, "item_id": service_item_id,
                           "p_uid": uid, "p_now": now}).first()
    if row is None:
        return None, session.get(Slot, slot_id), None, None, False, together
    read, start = [], 0
    for model in _READ_MODELS[:4]:
        end = start + len(_attributes(model))
        read.append(_detached(model, row[start:end]))
        start = end
    item, slot, window, place = read
    return item, slot, window, place, bool(row[start]), together


def describe(session: Session, appointment: Appointment) -> AppointmentDetails:
    """The hall, window, item and slot of an appointment."""
    window = session.get(ServiceWindow, appointment.window_id)
    return AppointmentDetails(session.get(Place, window.place_id), window,
                              session.get(ServiceItem, appointment.service_item_id),
                              session.get(Slot, appointment.slot_id))


def _check_key(idempotency_key: str) -> str:
    key = idempotency_key.strip() if isinstance(idempotency_key, str) else ""
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise BookingError("INVALID_INPUT",
                           f"幂等键须为 1–{MAX_IDEMPOTENCY_KEY} 个可见字符", "idempotencyKey")
    return key


def _check_answers(item: ServiceItem | None,
                   answers: list[tuple[str, bool]] | None) -> dict[str, bool] | None:
    """The guide answers as stored ({question id: answer}); None (or no answers) when the
    resident gave none. Unknown or contradictory answers: INVALID_INPUT on `answers`."""
    if not answers:
        return None
    if item is None:
        return None  # the item's NOT_FOUND is answered below
    try:
        checklist(item, answers)
    except InvalidInput as error:
        raise BookingError("INVALID_INPUT", error.message, "answers") from error
    return {question: answer for question, answer in answers}


def materials_of(item: ServiceItem, answers: dict[str, bool] | None) -> Checklist | None:
    """The personal materials list an appointment's answers give, under the item's guide of
    today (answers to questions the guide no longer asks are dropped); None without answers."""
    if answers is None:
        return None
    known = {question.id for question in guide_of(item).questions}
    return checklist(item, [(q, a) for q, a in answers.items() if q in known])


def book(uow: UnitOfWork, principal: Principal, rules: BookingRules, *, slot_id: int,
         service_item_id: int, idempotency_key: str,
         answers: list[tuple[str, bool]] | None = None,
         now: datetime | None = None) -> Appointment:
    """Book a place in a slot, with the resident's answers to the guide's questions if they
    came from it. The same key from the same resident returns the same appointment (also when
    two calls race: the second waits for the resident's lock)."""
    return book_described(uow, principal, rules, slot_id=slot_id,
                          service_item_id=service_item_id, idempotency_key=idempotency_key,
                          answers=answers, now=now)[0]


def book_described(uow: UnitOfWork, principal: Principal, rules: BookingRules, *, slot_id: int,
                   service_item_id: int, idempotency_key: str,
                   answers: list[tuple[str, bool]] | None = None, now: datetime | None = None
                   ) -> tuple[Appointment, AppointmentDetails | None]:
    """`book`, and where the new appointment is (the rows its answer shows, so the API need not
    read them again); None for a retry answered with an earlier appointment.

    Statements of a new booking: the read of item, slot, window and hall, with the resident's
    lock on PostgreSQL (one); the lock on SQLite (one); the resident's active appointments and
    the key's (one); the place and the appointment (one on PostgreSQL, two on SQLite); the
    outbox rows (one)."""
    uid = require_resident(principal)
    key = _check_key(idempotency_key)
    now = now or utcnow()
    with uow:
        session = uow.session
        # What the decisions read but no booking changes (the slot's times and window, the
        # item, the hall for the messages) is read before (SQLite) or with (PostgreSQL) the
        # lock, so the lock is held only for the decisions; the slot's status and places are
        # decided by the conditional update.
        item, slot, window, place, handled, locked = _read_for_booking(
            session, slot_id, service_item_id, uid, now)
        given = _check_answers(item, answers)
        if not locked:
            lock_resident(session, uid, now)
        # The resident's active appointments (the limits) and the one of this key, if any.
        mine = session.execute(_booking_statements(_store_of(session))["mine"],
                               {"uid": uid, "key": key}).all()
        earlier = next((row.id for row in mine if row.idempotency_key == key), None)
        if earlier is not None:
            earlier = session.get(Appointment, earlier)
            _check_retry(earlier, slot_id, service_item_id, given)
            uow.commit()
            return earlier, None
        if slot is None:
            raise BookingError("NOT_FOUND", "未找到该时段", "slotId")
        if item is None:
            raise BookingError("NOT_FOUND", "未找到该事项", "serviceItemId")
        _check_bookable_row(rules, slot, window, place, handled, now)
        active = [row for row in mine if row.status in ACTIVE_STATUSES]
        _refuse_over_limits(
            rules, len(active),
            sum(row.service_item_id == service_item_id and row.day == slot.day
                for row in active),
            sum(row.slot_id == slot.id for row in active))
        values, booked = _take_place_and_insert(session, {
            "uid": uid, "slot_id": slot.id, "window_id": slot.window_id,
            "service_item_id": service_item_id, "day": slot.day, "status": "booked",
            "idempotency_key": key, "booked_slot_id": slot.id, "revision": 0,
            "answers": given, "cancel_reason": None, "checked_in_at": None,
            "created_at": now, "updated_at": now,
        })
        # The row as written (the INSERT went around the ORM); the slot as the update left it,
        # without making it a change of this session.
        appointment = Appointment(**values)
        set_committed_value(slot, "booked", booked)
        details = AppointmentDetails(place, window, item, slot)
        uow.record(AppointmentBooked(appointment, details, now))
        uow.commit()
    return appointment, details


def _check_retry(earlier: Appointment, slot_id: int, service_item_id: int,
                 answers: dict[str, bool] | None) -> None:
    """A key seen before is a retry only with the same request (Stripe's rule): another slot,
    item or set of guide answers (in any order; none and an empty list are the same) is
    IDEMPOTENCY_KEY_REUSED. A key whose appointment was cancelled does not book
    again, nor answer the cancelled appointment as if booked: a new booking needs a new key."""
    if earlier.service_item_id != service_item_id or (
            earlier.booked_slot_id is not None and earlier.booked_slot_id != slot_id) or (
            (earlier.answers or None) != answers):
        raise BookingError("IDEMPOTENCY_KEY_REUSED", field="idempotencyKey")
    if earlier.status == "cancelled":
        raise BookingError("IDEMPOTENCY_KEY_REUSED",
                           "该幂等键的预约已取消；重新预约请使用新的幂等键", "idempotencyKey")


def _require_appointment(session: Session, appointment_id: int,
                         field: str = "id") -> Appointment:
    appointment = _reread(session, Appointment, appointment_id)
    if appointment is None:
        raise BookingError("NOT_FOUND", "未找到该预约", field)
    return appointment


def own_appointment_details(session: Session, principal: Principal, appointment_id: int
                            ) -> tuple[Appointment, AppointmentDetails]:
    """The caller's own appointment and where it is, for its calendar file and QR code:
    those are the resident's only (staff and admins read appointments through the API)."""
    require_resident(principal)
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise BookingError("NOT_FOUND", "未找到该预约")
    require_owner(principal, appointment, field=None)
    return appointment, describe(session, appointment)


def cancel(uow: UnitOfWork, principal: Principal, rules: BookingRules, *,
           appointment_id: int, reason: str | None = None,
           now: datetime | None = None) -> Appointment:
    """The resident cancels until the cutoff; staff of the window (or an admin) cancel any
    booked appointment, and the resident is told why."""
    require_resident(principal)
    now = now or utcnow()
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise BookingError("INVALID_INPUT", f"原因最多 {MAX_REASON} 个字符", "reason")
    with uow:
        session = uow.session
        appointment = session.get(Appointment, appointment_id)
        if appointment is None:
            raise BookingError("NOT_FOUND", "未找到该预约", "id")
        by_owner = require_owner_or_window_staff(principal, appointment)
        lock_resident(session, appointment.uid, now)
        appointment = _require_appointment(session, appointment_id)
        # Lock order everywhere: resident, slot(s), appointment — a staff closing the slot at
        # the same moment (slot, then appointment) cannot deadlock with us. Read the
        # appointment again once the slot is ours: the window may have cancelled it meanwhile.
        _lock_slots(session, [appointment.slot_id])
        appointment = _require_appointment(session, appointment_id)
        slot = _reread(session, Slot, appointment.slot_id)
        if appointment.status != "booked":
            raise BookingError("NOT_CANCELLABLE", "该预约已取消或已办理", "id")
        if by_owner and as_utc(slot.starts_at) - timedelta(minutes=rules.cutoff_minutes) <= now:
            raise BookingError("NOT_CANCELLABLE",
                               f"时段开始前 {rules.cutoff_minutes} 分钟内不能取消", "id")
        cancel_booked(uow, appointment, reason or ("本人取消" if by_owner else "窗口取消"),
                      by_window=not by_owner, now=now)
        uow.commit()
    return appointment


def cancel_booked(uow: UnitOfWork, appointment: Appointment, reason: str, *, by_window: bool,
                  now: datetime) -> bool:
    """Cancel one booked appointment and release its place (the resident is told, through
    the event). Conditional on the status, so two cancellations cannot release a place twice."""
    session = uow.session
    changed = session.execute(
        update(Appointment).where(Appointment.id == appointment.id,
                                  Appointment.status == "booked")
        .values(status="cancelled", cancel_reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        return False
    _release_place(session, appointment.slot_id)
    session.refresh(appointment)
    uow.record(AppointmentCancelled(appointment, describe(session, appointment), now,
                                    reason=reason, by_window=by_window))
    return True


def reschedule(uow: UnitOfWork, principal: Principal, rules: BookingRules, *,
               appointment_id: int, new_slot_id: int,
               now: datetime | None = None) -> Appointment:
    """Move a booked appointment to another slot in one transaction: the old place is
    released only if the new one is taken."""
    require_resident(principal)
    now = now or utcnow()
    with uow:
        session = uow.session
        appointment = session.get(Appointment, appointment_id)
        if appointment is None:
            raise BookingError("NOT_FOUND", "未找到该预约", "id")
        uid = require_owner(principal, appointment)
        lock_resident(session, uid, now)
        appointment = _require_appointment(session, appointment_id)
        if new_slot_id == appointment.slot_id:
            raise BookingError("SAME_SLOT", field="newSlotId")
        # Both slot rows in id order (two residents swapping slots cannot deadlock), then the
        # appointment again: the window may have closed the old slot while we waited for it.
        old_slot_id = appointment.slot_id
        _lock_slots(session, [old_slot_id, new_slot_id])
        appointment = _require_appointment(session, appointment_id)
        old_slot = _reread(session, Slot, old_slot_id)
        if appointment.status != "booked" or appointment.slot_id != old_slot_id or \
                as_utc(old_slot.starts_at) - timedelta(minutes=rules.cutoff_minutes) <= now:
            raise BookingError("NOT_CANCELLABLE", "该预约已不能改期", "id")
        new_slot = _reread(session, Slot, new_slot_id)
        if new_slot is None:
            raise BookingError("NOT_FOUND", "未找到该时段", "newSlotId")
        try:
            _check_bookable(session, rules, new_slot, appointment.service_item_id, now)
            _check_resident_limits(session, rules, uid, appointment.service_item_id,
                                   new_slot.day, new_slot.id, moving=appointment)
            _take_place(session, new_slot.id)
        except BookingError as error:
            error.field = "newSlotId"  # the only argument about the new slot
            raise
        _release_place(session, old_slot.id)
        moved = session.execute(
            update(Appointment)
            .where(Appointment.id == appointment.id, Appointment.status == "booked",
                   Appointment.slot_id == old_slot.id)
            .values(slot_id=new_slot.id, window_id=new_slot.window_id, day=new_slot.day,
                    revision=Appointment.revision + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1:  # cannot happen under the locks above; never move a place for nothing
            raise BookingError("NOT_CANCELLABLE", "该预约已不能改期", "id")
        session.refresh(appointment)
        uow.record(AppointmentMoved(
            appointment, describe(session, appointment), now, old_window_id=old_slot.window_id,
            old_day=old_slot.day, old_starts_at=as_utc(old_slot.starts_at)))
        uow.commit()
    return appointment


def my_appointments(session: Session, principal: Principal,
                    status: str | None = None) -> list[Appointment]:
    uid = require_resident(principal)
    statement = select(Appointment).join(Slot, Slot.id == Appointment.slot_id).where(
        Appointment.uid == uid)
    if status is not None:
        statement = statement.where(Appointment.status == status)
    return list(session.scalars(statement.order_by(Slot.starts_at.desc(), Appointment.id)))


def available_slots(session: Session, principal: Principal, rules: BookingRules, *,
                    service_item_id: int, start: date, end: date, window_id: int | None = None,
                    place_id: int | None = None, now: datetime | None = None) -> list[Slot]:
    """Slots a resident can book now for this item: open, with places left, after the cutoff
    and within the horizon; at one window, or at every window of a place handling the item.
    Public (counts of places only): booking itself needs sign-in."""
    now = now or utcnow()
    if (window_id is None) == (place_id is None):
        raise InvalidInput("须且只能指定 windowId 或 placeId 之一", "windowId")
    if start > end:
        raise InvalidInput("from 须不晚于 to", "to")
    if (end - start).days >= MAX_SLOT_RANGE_DAYS:
        raise InvalidInput(f"查询范围最多 {MAX_SLOT_RANGE_DAYS} 天", "to")
    if session.get(ServiceItem, service_item_id) is None:
        raise InvalidInput("未找到该事项", "serviceItemId")
    windows = select(WindowServiceItem.window_id).join(
        ServiceWindow, ServiceWindow.id == WindowServiceItem.window_id
    ).join(Place, Place.id == ServiceWindow.place_id).where(
        WindowServiceItem.service_item_id == service_item_id, ServiceWindow.is_active,
        Place.archived.is_(False))
    if window_id is not None:
        if session.get(ServiceWindow, window_id) is None:
            raise InvalidInput("未找到该窗口", "windowId")
        windows = windows.where(ServiceWindow.id == window_id)
    else:
        if session.get(Place, place_id) is None:
            raise InvalidInput("未找到该地点", "placeId")
        windows = windows.where(ServiceWindow.place_id == place_id)
    last_day = min(end, business_date(now) + timedelta(days=rules.horizon_days))
    return list(session.scalars(
        select(Slot).where(
            Slot.window_id.in_(windows), Slot.day.between(start, last_day),
            Slot.status == "open", Slot.booked < Slot.capacity,
            Slot.starts_at > now + timedelta(minutes=rules.cutoff_minutes),
        ).order_by(Slot.starts_at, Slot.window_id, Slot.id)
    ))
