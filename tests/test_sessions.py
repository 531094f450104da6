"""Safe-method requests read without a transaction; a GET that writes says so first (unstract/fastpath/sessions.py)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import select

from tests.factories import make_histories, make_workflow
from tests.support import sql_statements
from unstract.extensions import db
from unstract.fastpath import start_writing
from unstract.fastpath.sessions import READ_ONLY
from unstract.models import ApiKey, FileHistory, Organization


def dbapi_autocommit(dbapi_connection) -> bool:
    """Whether the driver connection sends statements outside any transaction (no BEGIN before them)."""
    if hasattr(dbapi_connection, "pgconn"):  # psycopg
        return dbapi_connection.autocommit
    return dbapi_connection.isolation_level is None  # sqlite3


@contextmanager
def statements_and_modes():
    """(statement, whether its driver connection was in autocommit) for every statement sent."""
    def describe(conn, statement):
        return statement, dbapi_autocommit(conn.connection.dbapi_connection)

    with sql_statements(describe) as seen:
        yield seen


def fresh_request_session() -> None:
    """A real request starts with a new session; the tests' app context would otherwise lend it theirs."""
    db.session.remove()


def test_a_get_reads_outside_transactions_and_a_post_writes_inside_one(world):
    owner = world.api("owner")
    assert owner.get("workflow/").status_code == 200  # the key's first use is recorded here
    fresh_request_session()
    with statements_and_modes() as read:
        assert owner.get("workflow/").status_code == 200
    assert read and all(autocommit for _, autocommit in read), read
    fresh_request_session()
    with statements_and_modes() as written:
        response = owner.post("workflow/", json={"workflow_name": "Made in a transaction"})
    assert response.status_code == 201, response.get_json()
    assert any(statement.startswith("INSERT") for statement, _ in written)
    assert not any(autocommit for _, autocommit in written), written


def test_a_get_that_writes_leaves_read_only_mode_first(world):
    """The contract's clear-file-marker is a GET; its two deletes still run in one transaction."""
    owner = world.api("owner")
    workflow = make_workflow(world.users["owner"], "acme")
    make_histories(workflow, 3)
    workflow_id = workflow.id
    owner.get("workflow/")
    fresh_request_session()
    with statements_and_modes() as sent:
        response = owner.get(f"workflow/{workflow_id}/clear-file-marker/")
    assert response.status_code == 200 and response.get_json()["deleted_count"] == 3
    deletes = [autocommit for statement, autocommit in sent if statement.startswith("DELETE")]
    assert deletes == [False, False]
    assert db.session.scalar(select(FileHistory.id).where(FileHistory.workflow_id == workflow_id)) is None


def test_the_first_get_with_a_key_records_its_use(world):
    owner = world.api("owner")
    fresh_request_session()
    assert db.session.scalars(select(ApiKey.last_used_at)).all() == [None]
    fresh_request_session()
    assert owner.get("workflow/").status_code == 200
    fresh_request_session()
    assert db.session.scalar(select(ApiKey.last_used_at)) is not None


def test_a_write_in_a_read_only_request_is_refused_unless_declared(make_app):
    app = make_app()

    @app.get("/test-only/add-org/<org_id>")
    def add_org(org_id: str):
        if org_id.startswith("declared"):
            start_writing(db.session())
        db.session.add(Organization(org_id=org_id, name=org_id))
        db.session.commit()
        return "added"

    client = app.test_client()
    assert client.get("/test-only/add-org/undeclared").status_code == 500
    assert client.get("/test-only/add-org/declared").status_code == 200
    with app.app_context():
        assert db.session.scalars(select(Organization.org_id)).all() == ["declared"]
        db.engine.dispose()


def test_read_only_mode_lasts_as_long_as_its_request(make_app):
    app = make_app()
    modes = []

    @app.route("/test-only/mode", methods=["GET", "HEAD"])
    def mode():
        modes.append(bool(db.session().info.get(READ_ONLY)))
        return "ok"

    client = app.test_client()
    with app.app_context():  # one session over both requests, so what they leave in it shows
        assert client.get("/test-only/mode").status_code == 200
        assert READ_ONLY not in db.session().info and not db.session().in_transaction()
        assert client.head("/test-only/mode").status_code == 200
        assert READ_ONLY not in db.session().info
        db.engine.dispose()
    assert modes == [True, True]
