"""Booking's part in what happens to places: an archived place takes no more bookings (its
future slots close and their appointments are cancelled, the residents told through
AppointmentCancelled); a restored one opens again the slots its archiving closed."""

from __future__ import annotations

from sqlalchemy import select, update

from backend.booking.models import ServiceWindow, Slot
from backend.booking.staff import close_slot_cancelling
from backend.core.unit_of_work import UnitOfWork
from backend.places.events import PlaceArchived, PlaceRestored

# The closing reason of slots closed by archiving their place: what restoring reopens.
ARCHIVED_PREFIX = "场所已停用"


def _future_slots(place_id: int, at):  # noqa: ANN001, ANN202
    windows = select(ServiceWindow.id).where(ServiceWindow.place_id == place_id)
    return (Slot.window_id.in_(windows), Slot.starts_at > at)


def on_place_archived(uow: UnitOfWork, event: PlaceArchived) -> None:
    reason = f"{ARCHIVED_PREFIX}：{event.reason}"[:200]
    slots = uow.session.scalars(select(Slot).where(
        *_future_slots(event.place_id, event.at), Slot.status == "open").order_by(Slot.id))
    for slot in list(slots):
        close_slot_cancelling(uow, slot, reason, event.at)


def on_place_restored(uow: UnitOfWork, event: PlaceRestored) -> None:
    uow.session.execute(update(Slot).where(
        *_future_slots(event.place_id, event.at), Slot.status == "closed",
        Slot.closed_reason.startswith(ARCHIVED_PREFIX),
    ).values(status="open", closed_reason=None).execution_options(synchronize_session=False))


# Wired by the composition root (backend/app.py).
HANDLERS = {PlaceArchived: [on_place_archived], PlaceRestored: [on_place_restored]}
