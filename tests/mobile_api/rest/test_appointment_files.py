"""REST helpers of a booked appointment: GET /m/v1/appointments/<id>.ics and …/qr.svg, on both
stores, signed in with emulator tokens (unsigned; accepted only in emulator mode)."""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import segno
from flask import Flask
from icalendar import Calendar
from sqlalchemy import delete, update

from backend.accounts.dev_token import emulator_token
from backend.accounts.models import Account, RoleGrant
from backend.accounts.tokens import EMULATOR_ENV
from backend.app import create_app
from backend.booking.models import Appointment, ServiceWindow, Slot
from backend.config import Settings
from backend.db import session_scope, upgrade
from backend.guidance.models import ServiceItem
from backend.places.models import Place

PROJECT = "demo-test"
EMULATOR_HOST = "127.0.0.1:9099"
CODE = "7K3M9QXR"
OWNER = "alice"
STARTS_AT = datetime(2030, 5, 6, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
ENDS_AT = STARTS_AT + timedelta(minutes=30)
HALL_LAT, HALL_LON = 31.230416, 121.473701
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def app(store_name: str, database_factory: Callable[[str], str]) -> Iterator[Flask]:
    """An app of its own that accepts emulator tokens of PROJECT (scratch_app has no Firebase
    configuration). The verifier writes the emulator host into the environment: undone here."""
    settings = Settings(database_url=database_factory(store_name), app_env="test",
                        firebase_project_id=PROJECT, firebase_auth_emulator_host=EMULATOR_HOST)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(EMULATOR_ENV, EMULATOR_HOST)
        app = create_app(settings)
    app.config["TESTING"] = True
    upgrade(app.extensions["servicemap"].engine)
    yield app
    app.extensions["servicemap"].engine.dispose()


@pytest.fixture(autouse=True)
def emulator_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test in emulator mode; monkeypatch removes the variable afterwards, whatever the
    verifier wrote, so that later tests (of other modules) do not inherit it."""
    monkeypatch.setenv(EMULATOR_ENV, EMULATOR_HOST)
    assert os.environ[EMULATOR_ENV] == EMULATOR_HOST


@dataclass(frozen=True)
class Booked:
    appointment_id: int
    window_id: int


def factory(app: Flask):
    return app.extensions["servicemap"].session_factory


@pytest.fixture
def booked(app: Flask) -> Booked:
    """Alice's appointment at a window of a Huangpu service hall, on a fresh set of rows."""
    with session_scope(factory(app)) as session:
        for model in (Appointment, RoleGrant, Slot, ServiceWindow, Place, ServiceItem, Account):
            session.execute(delete(model))
    with session_scope(factory(app)) as session:
        hall = Place(kind="SERVICE_HALL", name="黄浦区行政服务中心",
                     address="上海市黄浦区福州路 1 号", phone="021-12345678",
                     lat=HALL_LAT, lon=HALL_LON, source="test", external_id="hall-1")
        item = ServiceItem(code="T001", name="异地就医备案", category="医保",
                           guide={"materials": [], "steps": []})
        session.add_all([hall, item, Account(uid=OWNER), Account(uid="bob")])
        session.flush()
        window = ServiceWindow(place_id=hall.id, name="3 号跨省通办窗口")
        session.add(window)
        session.flush()
        slot = Slot(window_id=window.id, day=date(2030, 5, 6), starts_at=STARTS_AT,
                    ends_at=ENDS_AT, capacity=2, booked=1, status="open", is_manual=False)
        session.add(slot)
        session.flush()
        appointment = Appointment(uid=OWNER, slot_id=slot.id, window_id=window.id,
                                  service_item_id=item.id, day=date(2030, 5, 6), status="booked",
                                  code=CODE, idempotency_key="k1", revision=0)
        session.add(appointment)
        session.flush()
        return Booked(appointment.id, window.id)


def auth(uid: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {emulator_token(uid, PROJECT)}"}


def ics_url(appointment_id: int | str) -> str:
    return f"/m/v1/appointments/{appointment_id}.ics"


def qr_url(appointment_id: int | str) -> str:
    return f"/m/v1/appointments/{appointment_id}/qr.svg"


def the_event(body: bytes):
    calendar = Calendar.from_ical(body)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def test_appointment_ics__owner__calendar_event_of_the_slot_at_the_hall(app, booked):
    # given
    client = app.test_client()
    # when
    response = client.get(ics_url(booked.appointment_id), headers=auth(OWNER))
    # then
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="appointment-{booked.appointment_id}.ics"')
    assert response.headers["Cache-Control"] == "private, no-store"
    calendar, event = the_event(response.data)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    assert str(event["UID"]) == f"appointment-{booked.appointment_id}@servicemap"
    assert event.decoded("DTSTART") == STARTS_AT
    assert event.decoded("DTEND") == ENDS_AT
    assert event.decoded("DTSTAMP").tzinfo is not None
    assert str(event["SUMMARY"]) == "预约办理：异地就医备案"
    assert str(event["LOCATION"]) == "黄浦区行政服务中心 上海市黄浦区福州路 1 号"
    geo = event["GEO"]
    assert (geo.latitude, geo.longitude) == (pytest.approx(HALL_LAT), pytest.approx(HALL_LON))
    description = str(event["DESCRIPTION"])
    assert CODE in description and "3 号跨省通办窗口" in description
    assert "021-12345678" in description
    assert str(event["STATUS"]) == "CONFIRMED"
    alarms = event.walk("VALARM")
    assert len(alarms) == 1
    assert str(alarms[0]["ACTION"]) == "DISPLAY"
    assert alarms[0].decoded("TRIGGER") == -timedelta(hours=1)


def test_appointment_ics__times_on_the_wire__utc(app, booked):
    # given
    client = app.test_client()
    # when
    text = client.get(ics_url(booked.appointment_id), headers=auth(OWNER)).get_data(as_text=True)
    # then: RFC 5545 lines, UTC times (no VTIMEZONE needed)
    assert "\r\nDTSTART:20300506T013000Z\r\n" in text
    assert "\r\nDTEND:20300506T020000Z\r\n" in text
    assert "BEGIN:VALARM\r\n" in text and "TRIGGER:-PT1H\r\n" in text


def test_appointment_ics__cancelled__status_cancelled_without_reminder(app, booked):
    # given
    with session_scope(factory(app)) as session:
        session.execute(update(Appointment).where(Appointment.id == booked.appointment_id)
                        .values(status="cancelled"))
    client = app.test_client()
    # when
    response = client.get(ics_url(booked.appointment_id), headers=auth(OWNER))
    # then
    assert response.status_code == 200, response.get_data(as_text=True)
    _, event = the_event(response.data)
    assert str(event["STATUS"]) == "CANCELLED"
    assert event.decoded("SEQUENCE") == 1  # one change more than the booked version (0)
    assert event.walk("VALARM") == []


def test_appointment_qr__owner__svg_of_the_check_in_code(app, booked):
    # given
    client = app.test_client()
    expected = io.BytesIO()
    segno.make_qr(CODE, error="m").save(expected, kind="svg", scale=8, border=4,
                                        title=f"核验码 {CODE}")
    # when
    response = client.get(qr_url(booked.appointment_id), headers=auth(OWNER))
    # then
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "image/svg+xml"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.data == expected.getvalue()
    assert ET.fromstring(response.data).tag == f"{SVG_NS}svg"


@pytest.mark.parametrize("status", ["cancelled", "completed", "no_show"])
def test_appointment_qr__appointment_over__410_gone(app, booked, status):
    # given: the appointment is over, so its code may be drawn again for someone else
    with session_scope(factory(app)) as session:
        session.execute(update(Appointment).where(Appointment.id == booked.appointment_id)
                        .values(status=status))
    # when
    response = app.test_client().get(qr_url(booked.appointment_id), headers=auth(OWNER))
    # then
    assert response.status_code == 410, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "GONE"


@pytest.mark.parametrize("url", [ics_url, qr_url])
def test_appointment_files__no_token__401_with_www_authenticate(app, booked, url):
    # given
    client = app.test_client()
    # when
    response = client.get(url(booked.appointment_id))
    # then
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error = response.get_json()["error"]
    assert error["code"] == "UNAUTHENTICATED" and error["message"]
    assert response.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic YWxpY2U6c2VjcmV0",
                                    f"Bearer {emulator_token(OWNER, 'another-project')}"])
@pytest.mark.parametrize("url", [ics_url, qr_url])
def test_appointment_files__refused_token__401(app, booked, url, header):
    # given
    client = app.test_client()
    # when
    response = client.get(url(booked.appointment_id), headers={"Authorization": header})
    # then
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"]["code"] == "UNAUTHENTICATED"


def _missing_answer(client, url) -> tuple[int, dict]:  # noqa: ANN001
    response = client.get(url(10**6), headers=auth(OWNER))
    return response.status_code, response.get_json()


@pytest.mark.parametrize("url", [ics_url, qr_url])
def test_appointment_files__another_user__answered_like_a_missing_one(app, booked, url):
    # given
    client = app.test_client()
    # when
    response = client.get(url(booked.appointment_id), headers=auth("bob"))
    # then: exactly the answer for an id that does not exist
    assert (response.status_code, response.get_json()) == _missing_answer(client, url)
    assert response.status_code == 404
    assert CODE not in response.get_data(as_text=True)


@pytest.mark.parametrize("url", [ics_url, qr_url])
def test_appointment_files__staff_of_the_window__answered_like_a_missing_one(app, booked, url):
    # given: staff read appointments through GraphQL; these files are the owner's
    with session_scope(factory(app)) as session:
        session.add(RoleGrant(uid="bob", role="staff", scope=str(booked.window_id),
                              window_id=booked.window_id))
    client = app.test_client()
    # when
    response = client.get(url(booked.appointment_id), headers=auth("bob"))
    # then
    assert (response.status_code, response.get_json()) == _missing_answer(client, url)


@pytest.mark.parametrize("url", [ics_url, qr_url])
def test_appointment_files__unknown_id__404(app, booked, url):
    # given
    client = app.test_client()
    # when
    response = client.get(url(booked.appointment_id + 1000), headers=auth(OWNER))
    # then
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "01", "99999999999", "2147483648"])
@pytest.mark.parametrize("url", [ics_url, qr_url])
def test_appointment_files__malformed_id__404(app, booked, url, bad_id):
    # given
    client = app.test_client()
    # when
    response = client.get(url(bad_id), headers=auth(OWNER))
    # then
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "NOT_FOUND"
