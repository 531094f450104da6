"""The one rule for "transient" database errors (docs/RELIABILITY.md, Transient faults), on real failures."""

from __future__ import annotations

import socket
import sqlite3
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from tests.support import free_port, postgres_server_url, requires_postgres
from unstract.connectors.database import DatabaseTarget, write_row
from unstract.connectors.errors import ConnectorError
from unstract.worker.transient import is_transient, retry_transient


def _raised(action) -> BaseException:
    with pytest.raises(Exception) as caught:
        action()
    return caught.value


def _locked_sqlite(path) -> tuple[sqlite3.Connection, sqlite3.Connection]:
    holder = sqlite3.connect(path, timeout=0, isolation_level=None)
    holder.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    holder.execute("BEGIN EXCLUSIVE")
    return holder, sqlite3.connect(path, timeout=0)


def test_refused_connections_are_transient():
    port = free_port()
    assert is_transient(_raised(lambda: socket.create_connection(("127.0.0.1", port), timeout=2)))
    assert is_transient(_raised(lambda: psycopg.connect(f"postgresql://u@127.0.0.1:{port}/x", connect_timeout=2)))
    engine = create_engine(f"postgresql+psycopg://u@127.0.0.1:{port}/x")
    wrapped = _raised(lambda: engine.connect())
    assert isinstance(wrapped, OperationalError) and is_transient(wrapped)


def test_a_destination_write_refused_is_transient_through_the_connector_error():
    target = DatabaseTarget.from_connector("postgresql", {"host": "127.0.0.1", "port": free_port(),
                                                          "database": "x", "user": "u", "password": "p"},
                                           {"table": "t"})
    error = _raised(lambda: write_row(target, file_execution_id="1", file_path="a", execution_id="2",
                                      output={}, now=datetime.now(UTC)))
    assert isinstance(error, ConnectorError) and is_transient(error)


def test_sqlite_database_is_locked_is_transient_other_sqlite_errors_are_not(tmp_path):
    holder, other = _locked_sqlite(tmp_path / "db.sqlite")
    assert is_transient(_raised(lambda: other.execute("INSERT INTO t VALUES (1)")))
    holder.execute("COMMIT")
    assert not is_transient(_raised(lambda: other.execute("SELECT * FROM missing")))  # also OperationalError
    assert not is_transient(_raised(lambda: other.execute("SELEC 1")))
    other.execute("INSERT INTO t VALUES (1)")
    assert not is_transient(_raised(lambda: other.execute("INSERT INTO t VALUES (1)")))


def test_constraint_errors_and_plain_errors_are_not_transient(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'c.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))

    def duplicate():
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))

    error = _raised(duplicate)
    assert isinstance(error, IntegrityError) and not is_transient(error)
    assert not is_transient(ValueError("bad value"))
    assert not is_transient(ConnectorError("table t has no column data."))


@requires_postgres
def test_postgresql_missing_database_is_not_transient_a_terminated_session_is():
    url = make_url(postgres_server_url())
    missing = url.set(database="no_such_database_here").render_as_string(hide_password=False)
    assert not is_transient(_raised(lambda: create_engine(missing).connect()))
    engine = create_engine(url)
    with engine.connect() as victim, create_engine(url).connect() as admin:
        pid = victim.execute(text("SELECT pg_backend_pid()")).scalar()
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert is_transient(_raised(lambda: victim.execute(text("SELECT 1"))))
    engine.dispose()


def test_retry_transient_repeats_transient_errors_only(tmp_path):
    holder, other = _locked_sqlite(tmp_path / "r.sqlite")
    seen = []

    def insert_once_unlocked():
        if len(seen) == 2:
            holder.execute("COMMIT")
        other.execute("INSERT INTO t VALUES (1)")
        return "written"

    assert retry_transient(insert_once_unlocked, 30, lambda exc, delay: seen.append(delay)) == "written"
    assert seen == [0.25, 0.5]
    calls = []

    def bad_sql():
        calls.append(1)
        other.execute("SELEC 1")

    with pytest.raises(sqlite3.OperationalError):
        retry_transient(bad_sql, 30, lambda exc, delay: None)
    assert calls == [1]
    other.commit()
    holder.execute("BEGIN EXCLUSIVE")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        retry_transient(lambda: other.execute("INSERT INTO t VALUES (2)"), 0.5, lambda exc, delay: None)
