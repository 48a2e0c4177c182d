"""Role grants through `flask accounts …` and the domain functions, on both stores."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from backend.accounts.grants import list_grants, principal_for, touch_account
from backend.accounts.models import Account, RoleGrant
from backend.accounts.permissions import is_region_editor, region_covers
from backend.accounts.principal import Grant, Principal
from backend.booking.models import ServiceWindow
from backend.core.errors import InvalidInput
from backend.db import session_scope
from backend.places.models import Place
from tests.helpers import grant_role, revoke_role


@pytest.fixture
def app(scratch_app):
    """scratch_app (no places, hence no windows) without grants or accounts of earlier tests."""
    with session_scope(scratch_app.extensions["servicemap"].session_factory) as session:
        session.execute(delete(RoleGrant))
        session.execute(delete(Account))
    return scratch_app


def factory(app):  # noqa: ANN001
    return app.extensions["servicemap"].session_factory


def make_window(app, name: str = "跨省通办窗口") -> int:  # noqa: ANN001
    """A window of a new service hall in Huangpu, Shanghai; returns its id."""
    with session_scope(factory(app)) as session:
        hall = Place(kind="SERVICE_HALL", name="黄浦区行政服务中心", lat=31.2304, lon=121.4737,
                     county_code="310101", city_code="310100", province_code="310000",
                     source="test", external_id=f"hall-{name}")
        session.add(hall)
        session.flush()
        window = ServiceWindow(place_id=hall.id, name=name)
        session.add(window)
        session.flush()
        return window.id


def accounts(app, *args: str):  # noqa: ANN001
    return app.test_cli_runner().invoke(args=["accounts", *args])


def grant_rows(app) -> list[tuple[str, str, str, int | None]]:  # noqa: ANN001
    with session_scope(factory(app)) as session:
        return [(g.uid, g.role, g.scope, g.window_id) for g in list_grants(session)]


def test_accounts_cli__grant_each_role__listed(app):
    # given
    window = make_window(app)
    # when
    results = [
        accounts(app, "grant", "--uid", "alice", "--role", "staff", "--window", str(window)),
        accounts(app, "grant", "--uid", "bob", "--role", "editor", "--region", "330100"),
        accounts(app, "grant", "--uid", "carol", "--role", "admin"),
    ]
    # then
    for result in results:
        assert result.exit_code == 0, result.output
    assert grant_rows(app) == [("alice", "staff", str(window), window),
                               ("bob", "editor", "330100", None), ("carol", "admin", "", None)]
    listing = accounts(app, "list")
    assert listing.exit_code == 0, listing.output
    assert listing.output.splitlines() == [f"alice  staff  {window}", "bob  editor  330100",
                                           "carol  admin  *"]
    only_bob = accounts(app, "list", "--uid", "bob")
    assert only_bob.output.splitlines() == ["bob  editor  330100"]


def test_accounts_cli__grant_twice__one_grant(app):
    first = accounts(app, "grant", "--uid", "bob", "--role", "editor", "--region", "330100")
    second = accounts(app, "grant", "--uid", "bob", "--role", "editor", "--region", "330100")
    assert (first.exit_code, second.exit_code) == (0, 0), second.output
    assert grant_rows(app) == [("bob", "editor", "330100", None)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "staff", "--window", "999999"], "窗口 999999 不存在"),
        (["--role", "staff"], "需要指定窗口"),
        (["--role", "staff", "--window", "{window}", "--region", "310100"], "不能指定地区"),
        (["--role", "editor", "--region", "999999"], "地区代码 999999 不存在"),
        (["--role", "editor"], "需要指定地区代码"),
        (["--role", "editor", "--region", "310100", "--window", "{window}"], "不能指定窗口"),
        (["--role", "admin", "--region", "310100"], "不能指定地区"),
        (["--role", "superuser"], "superuser"),
        (["--role", "staff", "--window", "one"], "one"),
    ],
    ids=["unknown-window", "staff-without-window", "staff-with-region", "unknown-region",
         "editor-without-region", "editor-with-window", "admin-with-region", "unknown-role",
         "window-not-a-number"],
)
def test_accounts_cli__bad_grant__refused_and_nothing_written(app, args, message):
    # given
    window = make_window(app)
    args = [arg.replace("{window}", str(window)) for arg in args]
    # when
    result = accounts(app, "grant", "--uid", "alice", *args)
    # then
    assert result.exit_code != 0
    assert message in result.output
    assert grant_rows(app) == []


@pytest.mark.parametrize("uid", ["  ", "x" * 129])
def test_grant_role__bad_uid__refused(app, uid):
    with pytest.raises(InvalidInput) as refused, session_scope(factory(app)) as session:
        grant_role(session, uid, "admin")
    assert refused.value.field == "uid"
    assert grant_rows(app) == []


def test_accounts_cli__revoke__grant_gone(app):
    # given
    window = make_window(app)
    for args in (["--role", "staff", "--window", str(window)], ["--role", "admin"]):
        assert accounts(app, "grant", "--uid", "alice", *args).exit_code == 0
    # when
    result = accounts(app, "revoke", "--uid", "alice", "--role", "staff", "--window", str(window))
    # then
    assert result.exit_code == 0, result.output
    assert "已撤销" in result.output
    assert grant_rows(app) == [("alice", "admin", "", None)]


def test_accounts_cli__revoke_what_was_never_granted__says_so(app):
    accounts(app, "grant", "--uid", "alice", "--role", "editor", "--region", "330100")
    result = accounts(app, "revoke", "--uid", "alice", "--role", "editor", "--region", "330200")
    assert result.exit_code == 0, result.output
    assert "没有这项授权" in result.output
    assert grant_rows(app) == [("alice", "editor", "330100", None)]


def test_accounts_cli__revoke_malformed__refused(app):
    result = accounts(app, "revoke", "--uid", "alice", "--role", "editor")
    assert result.exit_code != 0 and "需要指定地区代码" in result.output


def test_accounts_cli__list_without_grants__says_so(app):
    result = accounts(app, "list")
    assert result.exit_code == 0 and "没有角色授权" in result.output


def test_principal_for__user_with_grants__has_them(app):
    # given
    window = make_window(app)
    with session_scope(factory(app)) as session:
        grant_role(session, "alice", "staff", window_id=window)
        grant_role(session, "alice", "editor", region_code="310000")
        grant_role(session, "bob", "admin")
    # when
    with session_scope(factory(app)) as session:
        alice, nobody = principal_for(session, "alice"), principal_for(session, "nobody")
    # then
    assert alice == Principal("alice", frozenset({Grant("staff", str(window)),
                                                  Grant("editor", "310000")}))
    assert alice.staffed_windows() == {window} and not alice.is_admin
    assert is_region_editor(alice, ["310101"])
    assert nobody == Principal("nobody") and nobody.is_authenticated


def test_grant_role__window_deleted__its_staff_grants_go_too(app):
    # given
    kept, removed = make_window(app, "综合窗口"), make_window(app)
    with session_scope(factory(app)) as session:
        grant_role(session, "alice", "staff", window_id=kept)
        grant_role(session, "alice", "staff", window_id=removed)
        grant_role(session, "bob", "staff", window_id=removed)
    # when
    with session_scope(factory(app)) as session:
        session.execute(delete(ServiceWindow).where(ServiceWindow.id == removed))
    # then
    assert grant_rows(app) == [("alice", "staff", str(kept), kept)]


def test_touch_account__twice__one_row(app):
    with session_scope(factory(app)) as session:
        assert touch_account(session, "alice") is True
    with session_scope(factory(app)) as session:
        assert touch_account(session, "alice") is False
        account = session.get(Account, "alice")
        assert account is not None and account.created_at is not None
        assert session.scalar(select(func.count()).select_from(Account)) == 1


@pytest.mark.parametrize(
    ("scope", "code", "covered"),
    [
        ("310000", "310100", True),   # province → its city
        ("310000", "310101", True),   # province → its county
        ("330000", "330106", True),
        ("330000", "320100", False),  # another province's city
        ("330100", "330106", True),   # city → its county
        ("330100", "330100", True),   # city → itself
        ("330100", "330206", False),  # another city's county
        ("330100", "330200", False),  # another city
        ("330100", "330000", False),  # not its province
        ("330106", "330106", True),   # county → itself only
        ("330106", "330105", False),
        ("330106", "330100", False),
    ],
)
def test_region_covers__adcode_hierarchy(scope, code, covered):
    assert region_covers(scope, code) is covered


def test_region_covers__shanghai_city__all_its_districts():
    districts = [f"3101{number:02d}" for number in range(1, 52)]
    assert all(region_covers("310100", code) for code in districts)
    assert not any(region_covers("310101", code) for code in districts[1:])


def test_is_region_editor__grants_and_admin():
    editor = Principal("e", frozenset({Grant("editor", "330100")}))
    admin = Principal("a", frozenset({Grant("admin", "")}))
    staff = Principal("s", frozenset({Grant("staff", "7")}))
    assert is_region_editor(editor, [None, "330106", "330000"])
    assert not is_region_editor(editor, ["330206", None])
    assert not is_region_editor(editor, [])
    assert is_region_editor(admin, [None])
    assert not is_region_editor(staff, ["330106"])


def test_revoke_role__returns_whether_a_grant_went(app):
    with session_scope(factory(app)) as session:
        grant_role(session, " alice ", "admin")
    with session_scope(factory(app)) as session:
        assert revoke_role(session, "alice", "admin") is True
        assert revoke_role(session, "alice", "admin") is False
    assert grant_rows(app) == []
