"""The unit of work on a real database: handlers run inside the transaction of the use case
that recorded the events, and nothing of either stays when it rolls back."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from backend.accounts.models import Account
from backend.core.events import Event, EventHandlers
from backend.core.unit_of_work import UnitOfWork, transactional


@dataclass(frozen=True)
class Named(Event):
    code: str


@dataclass(frozen=True)
class Followed(Named):
    pass


def _row(code: str) -> Account:
    """A row to write (accounts: no other test of these fixtures counts them)."""
    return Account(uid=f"uow-test-{code}")


def _handlers(seen: list) -> EventHandlers:
    def write_row(uow: UnitOfWork, event: Named) -> None:
        seen.append(("write", event.code))
        uow.session.add(_row(event.code))
        uow.session.flush()
        if not isinstance(event, Followed):
            uow.record(Followed(event.code + "9"))  # a handler may record more

    def note(uow: UnitOfWork, event: Named) -> None:
        seen.append(("note", event.code))

    return EventHandlers({Named: [write_row]}, {Followed: [note]})


def _count(app, prefix: str) -> int:
    with app.extensions["servicemap"].session_factory() as session:
        return session.scalar(select(func.count()).select_from(Account)
                              .where(Account.uid.startswith(f"uow-test-{prefix}")))


@pytest.fixture
def factory(scratch_app):
    return scratch_app.extensions["servicemap"].session_factory


def test_unit_of_work__commit__handlers_write_in_the_same_transaction(scratch_app, factory):
    seen: list = []

    @transactional
    def use_case(uow: UnitOfWork, code: str) -> None:
        uow.session.add(_row(code))
        uow.record(Named(code + "1"))

    use_case(UnitOfWork(factory, _handlers(seen)), "99010")

    assert _count(scratch_app, "99010") == 3  # its row, the handler's, the follow-up's
    # the follow-up: handlers of its own type first, then those of its base type
    assert seen == [("write", "990101"), ("note", "9901019"), ("write", "9901019")]


def test_unit_of_work__use_case_raises__nothing_of_it_or_its_handlers_stays(scratch_app,
                                                                           factory):
    seen: list = []

    @transactional
    def failing(uow: UnitOfWork, code: str) -> None:
        uow.session.add(_row(code))
        uow.record(Named(code + "1"))
        uow.publish()  # the handlers ran …
        raise ValueError("refused")  # … and the use case still fails

    with pytest.raises(ValueError):
        failing(UnitOfWork(factory, _handlers(seen)), "99020")

    assert seen  # the handlers did run
    assert _count(scratch_app, "99020") == 0


def test_unit_of_work__left_without_commit__rolled_back(scratch_app, factory):
    with UnitOfWork(factory) as uow:
        uow.session.add(_row("99030"))
        uow.session.flush()
    assert _count(scratch_app, "99030") == 0


def test_unit_of_work__use_case_inside_another__joins_its_transaction(scratch_app, factory):
    @transactional
    def inner(uow: UnitOfWork) -> None:
        uow.session.add(_row("990401"))

    uow = UnitOfWork(factory)
    with pytest.raises(RuntimeError), uow:
        inner(uow)  # its commit does not commit the outer work …
        raise RuntimeError("outer fails")
    assert _count(scratch_app, "99040") == 0  # … so the outer failure takes it back


def test_unit_of_work__session_outside_block__refused(factory):
    with pytest.raises(RuntimeError):
        UnitOfWork(factory).session  # noqa: B018
