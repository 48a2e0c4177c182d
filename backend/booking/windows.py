"""Service windows: which hall they belong to and which items they handle."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.accounts.principal import Principal
from backend.booking.errors import BookingError
from backend.booking.models import ServiceWindow, WindowServiceItem
from backend.booking.permissions import require_hall_editor, require_resident
from backend.core.clock import utcnow
from backend.core.ids import api_id
from backend.core.unit_of_work import UnitOfWork, transactional
from backend.db import insert_ignoring_conflicts
from backend.guidance.models import ServiceItem
from backend.places.models import Place

SERVICE_HALL = "SERVICE_HALL"
MAX_WINDOW_NAME = 100


def get_window(session: Session, window_id: str) -> ServiceWindow | None:
    """The window with this API id, or None for any id no window can have."""
    key = api_id(window_id)
    return None if key is None else session.get(ServiceWindow, key)


def require_window(session: Session, window_id: int, field: str = "windowId") -> ServiceWindow:
    window = session.get(ServiceWindow, window_id)
    if window is None:
        raise BookingError("NOT_FOUND", "未找到该窗口", field)
    return window


def windows_at(session: Session, place_ids: Iterable[int]) -> dict[int, list[ServiceWindow]]:
    """The active windows of each place, by id."""
    result: dict[int, list[ServiceWindow]] = {place_id: [] for place_id in place_ids}
    if result:
        for window in session.scalars(
            select(ServiceWindow)
            .where(ServiceWindow.place_id.in_(list(result)), ServiceWindow.is_active)
            .order_by(ServiceWindow.id)
        ):
            result[window.place_id].append(window)
    return result


def every_window_at(session: Session, principal: Principal,
                    places: Iterable[Place]) -> dict[int, list[ServiceWindow]]:
    """Every window of each hall, inactive ones too: what its editors manage (editors of
    the hall's region and admins; FORBIDDEN for anyone else)."""
    places = list(places)
    for place in places:
        require_hall_editor(principal, place)
    result: dict[int, list[ServiceWindow]] = {place.id: [] for place in places}
    if result:
        for window in session.scalars(select(ServiceWindow).where(
                ServiceWindow.place_id.in_(list(result))).order_by(ServiceWindow.id)):
            result[window.place_id].append(window)
    return result


def items_of_windows(session: Session, window_ids: Iterable[int]) -> dict[int, list[ServiceItem]]:
    result: dict[int, list[ServiceItem]] = {window_id: [] for window_id in window_ids}
    if result:
        rows = session.execute(
            select(WindowServiceItem.window_id, ServiceItem)
            .join(ServiceItem, ServiceItem.id == WindowServiceItem.service_item_id)
            .where(WindowServiceItem.window_id.in_(list(result)))
            .order_by(ServiceItem.code)
        )
        for window_id, item in rows:
            result[window_id].append(item)
    return result


def window_handles(session: Session, window_id: int, service_item_id: int) -> bool:
    return session.scalar(
        select(WindowServiceItem.window_id).where(
            WindowServiceItem.window_id == window_id,
            WindowServiceItem.service_item_id == service_item_id,
        )
    ) is not None


@transactional
def upsert_window(uow: UnitOfWork, principal: Principal, *, place_id: int, name: str,
                  service_item_ids: list[int], window_id: int | None = None,
                  is_active: bool = True) -> ServiceWindow:
    """Create a window of a service hall, or change one (editors of the hall's region)."""
    session = uow.session
    require_resident(principal)
    place = session.get(Place, place_id)
    if place is None:
        raise BookingError("NOT_FOUND", "未找到该地点", "placeId")
    require_hall_editor(principal, place)
    if place.kind != SERVICE_HALL:
        raise BookingError("INVALID_INPUT", "只有政务服务大厅可以设置预约窗口", "placeId")
    name = name.strip()
    if not name or len(name) > MAX_WINDOW_NAME:
        raise BookingError("INVALID_INPUT", f"窗口名称须为 1–{MAX_WINDOW_NAME} 个字符", "name")
    wanted = set(service_item_ids)
    found = set(session.scalars(select(ServiceItem.id).where(ServiceItem.id.in_(wanted))))
    if wanted - found:
        missing = ", ".join(str(item_id) for item_id in sorted(wanted - found))
        raise BookingError("NOT_FOUND", f"未找到事项：{missing}", "serviceItemIds")
    if window_id is None:
        # The natural key (hall, name): a resend finds the window it made. The insert is the
        # transaction's first write, so a racing twin waits for it and then finds its row.
        insert_ignoring_conflicts(session, ServiceWindow, [
            {"place_id": place_id, "name": name, "is_active": is_active, "updated_at": utcnow()},
        ], ["place_id", "name"])
        window = session.scalars(select(ServiceWindow).where(
            ServiceWindow.place_id == place_id, ServiceWindow.name == name,
        ).with_for_update().execution_options(populate_existing=True)).one()
    else:
        window = require_window(session, window_id, "id")
        if window.place_id != place_id:
            raise BookingError("INVALID_INPUT", "窗口不能移到另一个地点", "placeId")
        namesake = session.scalar(select(ServiceWindow.id).where(
            ServiceWindow.place_id == place_id, ServiceWindow.name == name,
            ServiceWindow.id != window.id))
        if namesake is not None:
            raise BookingError("INVALID_INPUT", f"该大厅已有名为“{name}”的窗口", "name")
        session.scalars(select(ServiceWindow.id).where(ServiceWindow.id == window.id)
                        .with_for_update()).one()
        session.refresh(window)
    window.name, window.is_active = name, is_active
    session.execute(delete(WindowServiceItem).where(WindowServiceItem.window_id == window.id))
    session.add_all(WindowServiceItem(window_id=window.id, service_item_id=item_id)
                    for item_id in sorted(wanted))
    session.flush()
    return window


def window_exists(session: Session, window_id: str) -> bool:
    """Whether a staff grant's scope names a window (accounts asks, through the wiring)."""
    key = api_id(window_id)
    return key is not None and session.get(ServiceWindow, key) is not None
