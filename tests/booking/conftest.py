"""Fixtures of the booking tests: an app that verifies real RS256 tokens (tokens_helper), and
a small world of halls, windows, items, slots and users, rebuilt for each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask import Flask
from sqlalchemy import delete, select

from backend.accounts.models import Account, RoleGrant
from backend.app import create_app
from backend.booking.models import (
    Appointment,
    ScheduleTemplate,
    ServiceWindow,
    Slot,
    WindowServiceItem,
)
from backend.booking.rules import BookingRules
from backend.config import Settings
from backend.core.clock import BUSINESS_TZ
from backend.db import session_scope, upgrade
from backend.guidance.models import ServiceItem
from backend.notify.models import Device, Notification
from backend.places.models import Place, PlaceReport
from tests.accounts.tokens_helper import TokenFactory, token_factory  # noqa: F401
from tests.helpers import grant_role, post_graphql

# Who is who in the world (uids). Staff of window A1 and A2 work in the same hall.
RESIDENT, OTHER_RESIDENT = "resident-alice", "resident-bob"
STAFF, OTHER_STAFF = "clerk-a1", "clerk-a2"
EDITOR, ADMIN = "editor-hangzhou", "admin-root"
HANGZHOU_XIHU, HANGZHOU, NANJING_XUANWU = "330106", "330100", "320102"


@pytest.fixture(scope="session")
def _booking_app(store_name: str, database_factory: Callable[[str], str],
                 token_factory: TokenFactory) -> Iterator[Flask]:  # noqa: F811
    settings = Settings(database_url=database_factory(store_name), app_env="test",
                        **token_factory.settings_overrides)
    app = create_app(settings)
    app.config["TESTING"] = True
    upgrade(app.extensions["servicemap"].engine)
    for args in (["seed", "regions"], ["seed", "items"], ["calendar", "seed"]):
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 0, result.output
    yield app
    app.extensions["servicemap"].engine.dispose()


def business_time(day: date, clock: str) -> datetime:
    """An aware UTC instant from a Beijing date and HH:MM."""
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=BUSINESS_TZ).astimezone(UTC)


def next_ordinary_weekday(after: date, session) -> date:  # noqa: ANN001
    """The first Monday–Friday after `after` that the holiday calendar leaves ordinary."""
    from backend.places.calendar import day_kind

    day = after + timedelta(days=1)
    while day.weekday() >= 5 or day_kind(session, day) is not None:
        day += timedelta(days=1)
    return day


@dataclass
class World:
    """Ids of what `world` made, and helpers to act as its users over HTTP."""

    app: Flask
    tokens: TokenFactory
    hall_a: int = 0
    hall_b: int = 0
    window_a1: int = 0
    window_a2: int = 0
    window_b1: int = 0
    item: int = 0
    other_item: int = 0
    unhandled_item: int = 0
    day: date = field(default_factory=date.today)
    slots: dict[str, int] = field(default_factory=dict)

    @property
    def services(self):  # noqa: ANN201
        return self.app.extensions["servicemap"]

    @property
    def rules(self) -> BookingRules:
        return self.services.rules

    def session(self):  # noqa: ANN201
        return session_scope(self.services.session_factory)

    def headers(self, uid: str | None) -> dict:
        return {} if uid is None else {"Authorization": f"Bearer {self.tokens.sign(uid)}"}

    def gql(self, query: str, variables: dict | None = None, uid: str | None = None,
            client=None) -> dict:  # noqa: ANN001
        """POST /graphql as `uid` (None: anonymous); returns the decoded body."""
        response = post_graphql(client or self.app.test_client(), query, variables or {},
                                self.headers(uid))
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def add_slot(self, window_id: int, day: date, clock: str, capacity: int = 2,
                 minutes: int = 30, name: str | None = None) -> int:
        starts = business_time(day, clock)
        with self.session() as session:
            slot = Slot(window_id=window_id, day=day, starts_at=starts,
                        ends_at=starts + timedelta(minutes=minutes), capacity=capacity,
                        booked=0, status="open", is_manual=False)
            session.add(slot)
            session.flush()
            slot_id = slot.id
        if name:
            self.slots[name] = slot_id
        return slot_id

    def slot(self, slot_id: int) -> Slot:
        with self.session() as session:
            return session.get(Slot, slot_id)

    def appointments(self, **where) -> list[Appointment]:  # noqa: ANN003
        with self.session() as session:
            return list(session.scalars(select(Appointment).filter_by(**where)
                                        .order_by(Appointment.id)))

    def notifications(self, **where) -> list[Notification]:  # noqa: ANN003
        with self.session() as session:
            return list(session.scalars(select(Notification).filter_by(**where)
                                        .order_by(Notification.id)))


def _place(external_id: str, name: str, county: str, city: str, province: str, lat: float,
           lon: float, kind: str = "SERVICE_HALL") -> Place:
    return Place(kind=kind, name=name, address=f"{name}地址", phone="0571-88888888",
                 lat=lat, lon=lon, county_code=county, city_code=city, province_code=province,
                 source="test", external_id=external_id,
                 opening_hours="Mo-Fr 09:00-17:00; PH off")


def clear_booking_tables(session) -> None:  # noqa: ANN001
    for model in (Device, Notification, Appointment, Slot, ScheduleTemplate, RoleGrant,
                  WindowServiceItem, ServiceWindow, Account, PlaceReport, Place):
        session.execute(delete(model))


@pytest.fixture
def world(_booking_app: Flask, token_factory: TokenFactory) -> World:  # noqa: F811
    """Hall A (Hangzhou, windows A1 and A2) and hall B (Nanjing, window B1), each window
    handling `item` and `other_item`; slots on the next ordinary weekday `day`: "a1-0900"
    (capacity 2), "a1-0930" (capacity 2), "a2-0900", "b1-0900"; grants for staff of A1 and A2,
    an editor of Hangzhou and an admin. No appointments."""
    world = World(_booking_app, token_factory)
    with world.session() as session:
        clear_booking_tables(session)
        items = list(session.scalars(select(ServiceItem.id).order_by(ServiceItem.id).limit(3)))
        world.item, world.other_item, world.unhandled_item = items
        hall_a = _place("hall-a", "西湖区政务服务中心", HANGZHOU_XIHU, HANGZHOU, "330000",
                        30.2741, 120.1551)
        hall_b = _place("hall-b", "玄武区政务服务中心", NANJING_XUANWU, "320100", "320000",
                        32.0485, 118.7975)
        session.add_all([hall_a, hall_b])
        session.flush()
        world.hall_a, world.hall_b = hall_a.id, hall_b.id
        windows = {}
        for key, place in (("a1", hall_a), ("a2", hall_a), ("b1", hall_b)):
            window = ServiceWindow(place_id=place.id, name=f"跨省通办窗口 {key.upper()}",
                                   is_active=True)
            session.add(window)
            session.flush()
            windows[key] = window.id
            session.add_all(WindowServiceItem(window_id=window.id, service_item_id=item_id)
                            for item_id in (world.item, world.other_item))
        world.window_a1, world.window_a2, world.window_b1 = (windows["a1"], windows["a2"],
                                                             windows["b1"])
        grant_role(session, STAFF, "staff", window_id=world.window_a1)
        grant_role(session, OTHER_STAFF, "staff", window_id=world.window_a2)
        grant_role(session, EDITOR, "editor", region_code=HANGZHOU)
        grant_role(session, ADMIN, "admin")
        world.day = next_ordinary_weekday(datetime.now(BUSINESS_TZ).date(), session)
    world.add_slot(world.window_a1, world.day, "09:00", name="a1-0900")
    world.add_slot(world.window_a1, world.day, "09:30", name="a1-0930")
    world.add_slot(world.window_a2, world.day, "09:00", name="a2-0900")
    world.add_slot(world.window_b1, world.day, "09:00", name="b1-0900")
    return world
