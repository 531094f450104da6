"""The DATABASE destination on real SQLite files (and PostgreSQL when TEST_DATABASE_URL is set)."""

import json
import sqlite3
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from tests.connectors.destination import NOW, settings, write
from tests.support import free_port
from unstract.connectors.database import DatabaseTarget, engine_for
from unstract.connectors.errors import ConnectorError


@pytest.fixture()
def db_path(tmp_path):
    return tmp_path / "out.db"


def sqlite_target(db_path, **overrides):
    return DatabaseTarget.from_connector("sqlite", {"path": str(db_path)}, settings(**overrides))


def rows(db_path, table="invoices"):
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY id')]  # noqa: S608


def test_sqlite_table_is_created_with_the_spec_columns(db_path):
    assert write(sqlite_target(db_path)) == "table invoices"
    with sqlite3.connect(db_path) as conn:
        info = [(r[1], r[2], r[3], r[5]) for r in conn.execute('PRAGMA table_info("invoices")')]
        ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'invoices'").fetchone()[0]
        unique = [r for r in conn.execute('PRAGMA index_list("invoices")') if r[2] == 1]
    assert info == [
        ("id", "INTEGER", 1, 1),
        ("file_execution_id", "TEXT", 1, 0),
        ("file_path", "TEXT", 0, 0),
        ("execution_id", "TEXT", 1, 0),
        ("data", "TEXT", 1, 0),
    ]
    assert "AUTOINCREMENT" in ddl
    assert len(unique) == 1


def test_sqlite_row_holds_ids_path_and_json_text(db_path):
    fe_id, ex_id = str(uuid.uuid4()), str(uuid.uuid4())
    write(sqlite_target(db_path), fe_id, {"name": "Zoë", "n": [1, 2]}, execution_id=ex_id, file_path=None)
    [row] = rows(db_path)
    assert row["file_execution_id"] == fe_id and row["execution_id"] == ex_id
    assert row["file_path"] is None
    assert json.loads(row["data"]) == {"name": "Zoë", "n": [1, 2]}
    assert "Zoë" in row["data"]


def test_sqlite_rewrite_of_same_file_execution_leaves_one_row(db_path):
    target, fe_id = sqlite_target(db_path), str(uuid.uuid4())
    for attempt in range(3):
        write(target, fe_id, {"attempt": attempt})
    write(target, str(uuid.uuid4()), {"other": True})
    found = rows(db_path)
    assert len(found) == 2
    assert [json.loads(r["data"]) for r in found if r["file_execution_id"] == fe_id] == [{"attempt": 2}]


def test_sqlite_optional_columns_only_when_enabled(db_path, tmp_path):
    write(
        sqlite_target(db_path, includeAgent=True, includeTimestamp=True),
        now=NOW.astimezone(timezone(timedelta(hours=2))),
    )
    [row] = rows(db_path)
    assert row["created_by"] == "Unstract/DBWriter"
    assert datetime.fromisoformat(row["created_at"]) == NOW
    assert row["created_at"].endswith("+00:00")
    plain = tmp_path / "plain.db"
    write(sqlite_target(plain))
    assert "created_by" not in rows(plain)[0] and "created_at" not in rows(plain)[0]


def test_sqlite_custom_column_names_are_used(db_path):
    write(sqlite_target(db_path, filePath="Source", executionId="run_id", singleColumnName="payload"))
    assert list(rows(db_path)[0]) == ["id", "file_execution_id", "Source", "run_id", "payload"]


def test_sqlite_existing_table_missing_a_column_is_an_error_and_left_untouched(db_path):
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            'CREATE TABLE "invoices" (id INTEGER PRIMARY KEY, file_execution_id TEXT, file_path TEXT)'
        )
    with pytest.raises(ConnectorError) as caught:
        write(sqlite_target(db_path))
    assert str(caught.value) == "table invoices has no column execution_id."
    with sqlite3.connect(db_path) as conn:
        assert [r[1] for r in conn.execute('PRAGMA table_info("invoices")')] == [
            "id",
            "file_execution_id",
            "file_path",
        ]


def test_sqlite_existing_table_with_extra_columns_and_other_case_is_written(db_path):
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "CREATE TABLE \"invoices\" (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'n', DATA TEXT, "
            "FILE_PATH TEXT, Execution_Id TEXT, file_execution_id TEXT UNIQUE)"
        )
    write(sqlite_target(db_path), output={"ok": 1})
    [row] = rows(db_path)
    assert json.loads(row["DATA"]) == {"ok": 1} and row["note"] == "n"


def test_sqlite_database_error_message_has_no_sql_or_values(db_path):
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            'CREATE TABLE "invoices" (id INTEGER PRIMARY KEY, file_execution_id TEXT, file_path TEXT, '
            "execution_id TEXT, data TEXT, required_extra TEXT NOT NULL)"
        )
    with pytest.raises(ConnectorError) as caught:
        write(sqlite_target(db_path), output={"marker": "VALUE-123"})
    message = str(caught.value)
    assert message.startswith("database error: NOT NULL constraint failed")
    assert "INSERT" not in message and "VALUE-123" not in message


@pytest.mark.parametrize(
    "overrides",
    [
        {"table": 'x"; DROP TABLE y; --'},
        {"table": "invoices\n"},
        {"table": "a.b.c"},
        {"table": ""},
        {"singleColumnName": 'data" TEXT); DROP TABLE y; --'},
        {"filePath": "1abc"},
        {"executionId": "x" * 64},
    ],
)
def test_sqlite_unsafe_identifiers_are_rejected_before_any_sql_runs(db_path, overrides):
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE y (v TEXT)")
    with pytest.raises(ConnectorError):
        sqlite_target(db_path, **overrides)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("y",)]


def test_sqlite_target_with_unsafe_table_never_opens_the_database(db_path):
    with pytest.raises(ConnectorError, match="invalid table name"):
        sqlite_target(db_path, table='x"; DROP TABLE y; --')
    assert not db_path.exists()


def test_sqlite_rejects_schema_qualified_tables_and_clashing_columns(db_path):
    with pytest.raises(ConnectorError, match="needs a PostgreSQL connector"):
        sqlite_target(db_path, table="main.invoices")
    with pytest.raises(ConnectorError, match="column DATA is used twice"):
        sqlite_target(db_path, filePath="DATA")
    with pytest.raises(ConnectorError, match="column created_at is used twice"):
        sqlite_target(db_path, singleColumnName="created_at", includeTimestamp=True)


def test_sqlite_path_is_rechecked_against_allowed_roots(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    target = DatabaseTarget.from_connector(
        "sqlite", {"path": str(root / "a.db")}, settings(), allowed_roots=[str(root)]
    )
    write(target)
    assert (root / "a.db").exists()
    with pytest.raises(ConnectorError, match="not inside an allowed root"):
        DatabaseTarget.from_connector(
            "sqlite", {"path": str(outside / "a.db")}, settings(), allowed_roots=[str(root)]
        )


def test_sqlite_writes_reuse_one_engine_and_its_connections(db_path):
    target = sqlite_target(db_path)
    write(target)
    engine = engine_for(target)
    connects = []
    event.listen(engine, "connect", lambda *args: connects.append(1))
    for _ in range(100):
        write(sqlite_target(db_path))
    assert engine_for(sqlite_target(db_path)) is engine
    assert connects == []
    assert len(rows(db_path)) == 101


def test_sqlite_concurrent_writers_to_a_new_table_all_succeed(db_path):
    errors, target = [], sqlite_target(db_path)

    def worker():
        try:
            for _ in range(5):
                write(target)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(rows(db_path)) == 20


def test_postgresql_connection_failure_is_a_safe_connector_error():
    metadata = {
        "host": "127.0.0.1",
        "port": free_port(),
        "database": "d",
        "user": "u",
        "password": "hunter2-secret",
    }
    target = DatabaseTarget.from_connector("postgresql", metadata, settings())
    assert "hunter2" not in repr(target)
    with pytest.raises(ConnectorError) as caught:
        write(target)
    assert str(caught.value).startswith("database error:")
    assert "hunter2" not in str(caught.value)


def test_unknown_connector_and_missing_postgresql_fields_are_rejected():
    with pytest.raises(ConnectorError, match="is not a database"):
        DatabaseTarget.from_connector("s3", {}, settings())
    with pytest.raises(ConnectorError, match="has no host"):
        DatabaseTarget.from_connector("postgresql", {"database": "d", "user": "u"}, settings())
    with pytest.raises(ConnectorError, match="invalid schema name"):
        DatabaseTarget.from_connector(
            "postgresql", {"host": "h", "database": "d", "user": "u", "schema": "a-b"}, settings()
        )


def test_output_that_is_not_json_is_a_connector_error(db_path):
    with pytest.raises(ConnectorError, match="cannot be stored as JSON"):
        write(sqlite_target(db_path), output={"when": datetime(2026, 1, 1)})
