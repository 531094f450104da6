"""Dashboard sessions live on the server: logout, a password change and removal from the organization end
them, so a copy of the session cookie stops working too (docs/SECURITY.md, Sessions)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask import g
from sqlalchemy import func, select

from tests.support import sql_statements
from tests.web.web_client import web_login
from unstract.cli import main
from unstract.extensions import db
from unstract.models import ApiKey, UserSession
from unstract.services import accounts

API = "/api/v1/unstract/acme/workflow/"
NOT_AUTHENTICATED = {"code": "not_authenticated", "detail": "Authentication credentials were not provided.",
                     "attr": None}


@pytest.fixture
def unstract(base_env):
    """`unstract ARGS...` in-process against the test database, with `input` as standard input."""
    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(main, list(args), env=base_env, input=input, catch_exceptions=False)
    return run


def logged_in(app, email: str = "owner@acme.test"):
    client = app.test_client()
    web_login(client, email)
    return client


def copy_of(app, client):
    """Another browser holding the same session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def forget_cached_user() -> None:
    """The tests share one app context, so `g` outlives a request: drop the user Flask-Login cached there
    for the previous client (the API guard runs before tests.support's own reset)."""
    g.pop("_login_user", None)


def assert_logged_out(client) -> None:
    forget_cached_user()
    response = client.get(API)
    assert response.status_code == 401 and response.json["errors"] == [NOT_AUTHENTICATED]
    forget_cached_user()
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")


def assert_logged_in(client) -> None:
    forget_cached_user()
    assert client.get(API).status_code == 200
    forget_cached_user()
    assert client.get("/").status_code == 200


def test_a_copied_cookie_works_until_logout_then_neither_copy_does(app, world):
    client = logged_in(app)
    thief = copy_of(app, client)
    assert_logged_in(thief)
    assert client.post("/logout", data={"csrf_token": client.csrf}).status_code == 302
    assert_logged_out(thief)
    assert_logged_out(client)


def test_logout_ends_only_that_session(app, world):
    laptop, phone = logged_in(app), logged_in(app)
    laptop.post("/logout", data={"csrf_token": laptop.csrf})
    assert_logged_in(phone)
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1


def test_set_password_ends_every_session_of_that_user_only(app, world, unstract):
    laptop, phone, viewer = logged_in(app), logged_in(app), logged_in(app, "viewer@acme.test")
    result = unstract("user", "set-password", "Owner@acme.test", input="new-password-1\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{world.users['owner'].id}\n"
    assert_logged_out(laptop)
    assert_logged_out(phone)
    assert_logged_in(viewer)
    db.session.expire_all()
    assert accounts.verify_password("owner@acme.test", "password123") is None
    assert accounts.verify_password("owner@acme.test", "new-password-1") is not None
    web_login(app.test_client(), "owner@acme.test", "new-password-1")


def test_set_password_refuses_a_short_password_and_an_unknown_user(world, unstract):
    short = unstract("user", "set-password", "owner@acme.test", input="short\n")
    assert short.exit_code == 2 and "at least 8 characters" in short.stderr
    unknown = unstract("user", "set-password", "nobody@acme.test", input="password123\n")
    assert unknown.exit_code == 1 and unknown.stderr.endswith("User 'nobody@acme.test' does not exist.\n")
    assert short.stdout == unknown.stdout == ""


def test_user_remove_ends_sessions_and_the_keys_of_that_org(app, world, unstract):
    session = logged_in(app, "member@acme.test")
    key = world.api("member")
    assert key.get("workflow/").status_code == 200
    result = unstract("user", "remove", "member@acme.test", "--org", "acme")
    assert (result.exit_code, result.stdout) == (0, "")
    assert_logged_out(session)
    assert key.get("workflow/").status_code == 401
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ApiKey)
                             .where(ApiKey.user_id == world.users["member"].id)) == 0
    # Added back, the user starts afresh: the old key stays dead.
    accounts.add_user("member@acme.test", "password123", "acme")
    assert key.get("workflow/").status_code == 401


def test_user_remove_of_a_non_member_exits_1(world, unstract):
    result = unstract("user", "remove", "outsider@other.test", "--org", "acme")
    assert result.exit_code == 1
    assert result.stderr == "User 'outsider@other.test' is not a member of 'acme'.\n"


def test_a_session_request_loads_its_user_with_one_lookup(app, world):
    client = logged_in(app)
    forget_cached_user()
    with sql_statements() as sent:
        assert client.get(API).status_code == 200
    loads = [statement for statement in sent if "user_session" in statement]
    assert len(loads) == 1 and "JOIN user_session" in loads[0]  # the user and the session together


def test_a_cookie_without_a_server_session_is_not_logged_in(app, world):
    """A session cookie made before sessions were kept on the server (no session id) counts as logged out."""
    client = logged_in(app)
    with client.session_transaction() as cookie:
        cookie.pop("sid")
    assert_logged_out(client)
