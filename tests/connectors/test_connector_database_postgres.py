"""The DATABASE destination on a real PostgreSQL server (tests.support.postgres_server_url)."""

import threading
import uuid

import pytest
from sqlalchemy import Column, MetaData, Table, Text, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateSchema, DropSchema

from tests.connectors.destination import NOW, settings, write
from tests.support import postgres_server_url, requires_postgres
from unstract.connectors.database import DatabaseTarget
from unstract.connectors.errors import ConnectorError

PG_URL = postgres_server_url() or ""

pytestmark = requires_postgres

@pytest.fixture(scope="module")
def admin():
    engine = create_engine(PG_URL)
    yield engine
    engine.dispose()


@pytest.fixture()
def metadata():
    url = make_url(PG_URL)
    return {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "database": url.database,
        "user": url.username,
        "password": url.password or "",
        "schema": "public",
    }


@pytest.fixture()
def table_name(admin):
    """A unique table per test in public, dropped afterwards."""
    name = f"Dest_{uuid.uuid4().hex[:12]}"
    yield name
    with admin.begin() as conn:
        Table(name, MetaData(), schema="public", quote=True).drop(conn, checkfirst=True)


@pytest.fixture()
def schema_name(admin):
    """A unique schema per test, dropped with everything in it afterwards."""
    name = f"s_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(CreateSchema(name))
    yield name
    with admin.begin() as conn:
        conn.execute(DropSchema(name, cascade=True))


def read_rows(admin, name, schema="public"):
    with admin.connect() as conn:
        table = Table(name, MetaData(), schema=schema, autoload_with=conn)
        return [dict(row._mapping) for row in conn.execute(select(table).order_by(table.c.id))]


def column_types(admin, name, schema="public"):
    query = text(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = :schema AND table_name = :name ORDER BY ordinal_position"
    )
    with admin.connect() as conn:
        return [tuple(row) for row in conn.execute(query, {"schema": schema, "name": name})]


def test_postgresql_table_is_created_with_the_spec_types(admin, metadata, table_name):
    target = DatabaseTarget.from_connector(
        "postgresql", metadata, settings(table=table_name, includeAgent=True, includeTimestamp=True)
    )
    assert write(target) == f"table {table_name}"
    assert column_types(admin, table_name) == [
        ("id", "bigint", "NO"),
        ("file_execution_id", "uuid", "NO"),
        ("file_path", "text", "YES"),
        ("execution_id", "uuid", "NO"),
        ("data", "jsonb", "NO"),
        ("created_by", "text", "YES"),
        ("created_at", "timestamp with time zone", "YES"),
    ]
    with admin.connect() as conn:
        inspector = inspect(conn)
        assert inspector.get_pk_constraint(table_name)["constrained_columns"] == ["id"]
        assert [u["column_names"] for u in inspector.get_unique_constraints(table_name)] == [
            ["file_execution_id"]
        ]
        default = next(c["default"] for c in inspector.get_columns(table_name) if c["name"] == "id")
    assert default.startswith("nextval(")


def test_postgresql_rewrite_leaves_one_row_with_jsonb_and_timestamp(admin, metadata, table_name):
    target = DatabaseTarget.from_connector(
        "postgresql", metadata, settings(table=table_name, includeAgent=True, includeTimestamp=True)
    )
    fe_id, ex_id = str(uuid.uuid4()), str(uuid.uuid4())
    for attempt in range(3):
        write(target, fe_id, {"attempt": attempt, "name": "Zoë"}, execution_id=ex_id)
    [row] = read_rows(admin, table_name)
    assert str(row["file_execution_id"]) == fe_id and str(row["execution_id"]) == ex_id
    assert row["data"] == {"attempt": 2, "name": "Zoë"}
    assert row["created_by"] == "Unstract/DBWriter"
    assert row["created_at"] == NOW


def test_postgresql_identifiers_are_quoted_and_case_sensitive(admin, metadata, table_name):
    target = DatabaseTarget.from_connector(
        "postgresql", metadata, settings(table=table_name, singleColumnName="Payload")
    )
    write(target)
    assert [c[0] for c in column_types(admin, table_name)] == [
        "id",
        "file_execution_id",
        "file_path",
        "execution_id",
        "Payload",
    ]
    assert column_types(admin, table_name.lower()) == []


def test_postgresql_schema_dot_name_selects_that_schema(admin, metadata, schema_name):
    target = DatabaseTarget.from_connector("postgresql", metadata, settings(table=f"{schema_name}.invoices"))
    assert write(target, output={"in": "schema"}) == f"table {schema_name}.invoices"
    assert [r["data"] for r in read_rows(admin, "invoices", schema=schema_name)] == [{"in": "schema"}]


def test_postgresql_connector_schema_is_used_for_a_bare_table_name(admin, metadata, schema_name):
    target = DatabaseTarget.from_connector(
        "postgresql", metadata | {"schema": schema_name}, settings(table="results")
    )
    write(target)
    assert len(read_rows(admin, "results", schema=schema_name)) == 1


def test_postgresql_existing_table_missing_a_column_is_an_error(admin, metadata, table_name):
    with admin.begin() as conn:
        Table(
            table_name, MetaData(), Column("file_execution_id", Text), Column("file_path", Text), quote=True
        ).create(conn)
    target = DatabaseTarget.from_connector("postgresql", metadata, settings(table=table_name))
    with pytest.raises(ConnectorError) as caught:
        write(target)
    assert str(caught.value) == f"table {table_name} has no column execution_id."
    assert [c[0] for c in column_types(admin, table_name)] == ["file_execution_id", "file_path"]


def test_postgresql_existing_text_columns_get_text_values(admin, metadata, table_name):
    with admin.begin() as conn:
        Table(
            table_name,
            MetaData(),
            Column("id", Text, primary_key=True, server_default=text("gen_random_uuid()::text")),
            *(
                Column(name, Text)
                for name in ("file_execution_id", "file_path", "execution_id", "data", "created_at")
            ),
            quote=True,
        ).create(conn)
    target = DatabaseTarget.from_connector(
        "postgresql", metadata, settings(table=table_name, includeTimestamp=True)
    )
    write(target, output={"k": "v"})
    [row] = read_rows(admin, table_name)
    assert row["data"] == '{"k": "v"}'
    assert row["created_at"] == NOW.isoformat()


def test_postgresql_concurrent_first_writes_race_on_create_and_all_succeed(admin, metadata, table_name):
    target = DatabaseTarget.from_connector("postgresql", metadata, settings(table=table_name))
    errors, barrier = [], threading.Barrier(4)

    def worker():
        try:
            barrier.wait()
            write(target)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(read_rows(admin, table_name)) == 4
