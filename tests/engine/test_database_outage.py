"""The database unreachable for a moment (issue 5): 503 in the envelope, then recovery without restart."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support import ApiClient, requires_postgres, scratch_postgres_database
from unstract.extensions import db
from unstract.services import accounts

SERVICE_UNAVAILABLE = {"type": "server_error", "errors": [
    {"code": "service_unavailable", "detail": "The database is unavailable.", "attr": None}]}


def test_unopenable_database_answers_503_without_a_trace(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/missing-dir/db.sqlite")
    response = app.test_client().get("/api/v1/unstract/acme/workflow/", headers={"Authorization": "Bearer uk_x"})
    assert response.status_code == 503
    assert response.json == SERVICE_UNAVAILABLE
    health = app.test_client().get("/healthz")
    assert health.status_code == 503 and health.json["database"] == "error"


@requires_postgres
def test_postgresql_refusing_connections_then_back(make_app):
    """New connections are refused and live ones cut, as during a server restart; then allowed again.

    The app runs on a database of its own so that cutting it off disturbs no other test's connections.
    """
    with scratch_postgres_database("outage") as url:
        app = make_app(DATABASE_URL=url)
        with app.app_context():
            upgrade()
            accounts.create_org("acme", "Acme")
            accounts.add_user("owner@acme.test", "password123", "acme", "member")
            key = accounts.create_api_key("acme", "owner@acme.test", "read")
            db.session.remove()
        api = ApiClient(app.test_client(), "acme", key)
        assert api.get("workflow/").status_code == 200

        refuse_connections(make_url(url), True)
        try:
            down = api.get("workflow/")
            assert down.status_code == 503 and down.json == SERVICE_UNAVAILABLE
        finally:
            refuse_connections(make_url(url), False)
        assert api.get("workflow/").status_code == 200
        with app.app_context():
            db.engine.dispose()


def refuse_connections(url, refuse: bool) -> None:
    """ALLOW_CONNECTIONS off (and live sessions cut) or back on, from the server's maintenance database."""
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # The database name is one the test generated; identifiers cannot be bound parameters.
        conn.execute(text(f'ALTER DATABASE "{url.database}" WITH ALLOW_CONNECTIONS {str(not refuse).lower()}'))
        if refuse:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": url.database})
    admin.dispose()
