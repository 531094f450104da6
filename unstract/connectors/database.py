"""The DATABASE destination: one idempotent row per file execution, through SQLAlchemy Core."""

import json
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    create_engine,
    delete,
    insert,
    inspect,
)
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.elements import quoted_name

from unstract.connectors import registry
from unstract.connectors.errors import ConnectorError

__all__ = ["ConnectorError", "DatabaseTarget", "dispose_engines", "engine_for", "write_row"]

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")  # always used with fullmatch (no "$\n" gap)
DEFAULT_AGENT = "Unstract/DBWriter"
ENGINE_CACHE_SIZE = 16

_engines: OrderedDict[str, Engine] = OrderedDict()
_engines_lock = threading.Lock()


def _identifier(value: object, what: str) -> str:
    """Accept only plain identifiers (the table and column patterns); everything else is refused before any SQL runs."""
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise ConnectorError(f"invalid {what} {str(value)[:80]!r}.")
    return value


@dataclass(frozen=True)
class DatabaseTarget:
    """Where and how one DATABASE destination writes: connection URL, table and column names."""

    dialect: str
    url: URL = field(repr=False)
    table: str
    schema: str | None
    label: str
    file_path_column: str = "file_path"
    execution_id_column: str = "execution_id"
    json_column: str = "data"
    agent_name: str | None = None
    include_timestamp: bool = False
    connector_id: str = ""

    @classmethod
    def from_connector(
        cls, connector_id: str, metadata: dict, config: dict, *, allowed_roots: list[str] | None = None
    ) -> "DatabaseTarget":
        """Validate connector metadata and destination settings; pass allowed_roots to re-check a SQLite path."""
        kind = registry.database_type(connector_id)
        schema, table = _split_table(kind, config.get("table", ""), metadata)
        file_path, execution_id, json_column = _column_names(config)
        include_agent = bool(config.get("includeAgent", False))
        return cls(
            dialect=kind.dialect,
            url=kind.url(metadata, allowed_roots),
            table=table,
            schema=schema,
            label=str(config.get("table")),
            file_path_column=file_path,
            execution_id_column=execution_id,
            json_column=json_column,
            agent_name=str(config.get("agentName") or DEFAULT_AGENT) if include_agent else None,
            include_timestamp=bool(config.get("includeTimestamp", False)),
            connector_id=connector_id,
        )

    def column_names(self) -> list[str]:
        """Every column a write needs, in table order (the generated `id` excluded)."""
        names = ["file_execution_id", self.file_path_column, self.execution_id_column, self.json_column]
        names += ["created_by"] if self.agent_name is not None else []
        return names + (["created_at"] if self.include_timestamp else [])


def _split_table(kind: registry.DatabaseType, value: object, metadata: dict) -> tuple[str | None, str]:
    """Split `name` or `schema.name`; a schema prefix only where the type has schemas, else its default."""
    if not value:
        raise ConnectorError("no destination table is configured.")
    schema, _, name = str(value).rpartition(".")
    _identifier(name, "table name")
    if schema:
        _identifier(schema, "schema name")
        if not kind.schema_qualified_tables:
            raise ConnectorError("a schema-qualified table name needs a PostgreSQL connector.")
    if not schema and (default := kind.default_schema(metadata)) is not None:
        schema = _identifier(default, "schema name")
    return schema or None, name


def _column_names(config: dict) -> tuple[str, str, str]:
    """Validate the configurable column names and refuse clashes (SQLite ignores case, so do we)."""
    file_path = _identifier(config.get("filePath", "file_path"), "file path column")
    execution_id = _identifier(config.get("executionId", "execution_id"), "execution id column")
    json_column = _identifier(config.get("singleColumnName", "data"), "JSON column")
    names = ["id", "file_execution_id", file_path, execution_id, json_column]
    names += ["created_by"] if config.get("includeAgent") else []
    names += ["created_at"] if config.get("includeTimestamp") else []
    lowered = [name.lower() for name in names]
    for name in names:
        if lowered.count(name.lower()) > 1:
            raise ConnectorError(f"column {name} is used twice in the destination settings.")
    return file_path, execution_id, json_column


def _create_engine(target: DatabaseTarget) -> Engine:
    """A pool per destination database, shaped by its connector type; bound values stay out of errors."""
    options = registry.database_type(target.connector_id).engine_options()
    return create_engine(target.url, hide_parameters=True, **options)


def engine_for(target: DatabaseTarget) -> Engine:
    """Reuse one engine per connection URL (LRU of ENGINE_CACHE_SIZE), so rows share connections."""
    key = target.url.render_as_string(hide_password=False)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is not None:
            _engines.move_to_end(key)
            return engine
        engine = _engines[key] = _create_engine(target)
        while len(_engines) > ENGINE_CACHE_SIZE:
            _engines.popitem(last=False)[1].dispose()
        return engine


def dispose_engines() -> None:
    """Close every cached pool (tests, shutdown)."""
    with _engines_lock:
        while _engines:
            _engines.popitem()[1].dispose()


def _forget_engines_after_fork() -> None:
    """A forked worker must not share its parent's sockets or a lock held at fork time."""
    global _engines_lock
    _engines_lock = threading.Lock()
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_engines_after_fork)


def _table(target: DatabaseTarget, metadata: MetaData | None = None) -> Table:
    """The destination table for the target's dialect; every identifier is force-quoted."""
    postgres = target.dialect == "postgresql"
    uuid_type = Uuid(as_uuid=False) if postgres else Text()
    columns = [
        Column(
            "id", BigInteger() if postgres else Integer(), primary_key=True, autoincrement=True, quote=True
        ),
        Column("file_execution_id", uuid_type, nullable=False, unique=True, quote=True),
        Column(target.file_path_column, Text(), nullable=True, quote=True),
        Column(target.execution_id_column, uuid_type, nullable=False, quote=True),
        Column(target.json_column, JSONB() if postgres else Text(), nullable=False, quote=True),
    ]
    if target.agent_name is not None:
        columns.append(Column("created_by", Text(), quote=True))
    if target.include_timestamp:
        columns.append(Column("created_at", DateTime(timezone=True) if postgres else Text(), quote=True))
    return Table(
        target.table,
        metadata or MetaData(),
        *columns,
        schema=target.schema,
        quote=True,
        quote_schema=True,
        sqlite_autoincrement=True,
    )


def _ensure_table(engine: Engine, target: DatabaseTarget) -> None:
    """Create the table when missing; existing tables are never altered (or even touched by DDL)."""
    with engine.begin() as conn:
        if inspect(conn).has_table(quoted_name(target.table, True), schema=target.schema):
            return
    try:
        with engine.begin() as conn:
            conn.execute(CreateTable(_table(target), if_not_exists=True))
    except DBAPIError:
        # Two workers racing on CREATE TABLE: PostgreSQL may fail one of them on its catalog.
        with engine.begin() as conn:
            if not inspect(conn).has_table(quoted_name(target.table, True), schema=target.schema):
                raise


def _bound_table(conn: Connection, target: DatabaseTarget) -> Table:
    """Describe the existing table with its real column types, failing on any missing column."""
    found = {}
    for column in inspect(conn).get_columns(quoted_name(target.table, True), schema=target.schema):
        found[column["name"] if target.dialect == "postgresql" else column["name"].lower()] = column["type"]
    columns = []
    for name in target.column_names():
        type_ = found.get(name if target.dialect == "postgresql" else name.lower())
        if type_ is None:
            raise ConnectorError(f"table {target.label} has no column {name}.")
        columns.append(Column(name, _bind_type(type_), quote=True))
    return Table(target.table, MetaData(), *columns, schema=target.schema, quote=True, quote_schema=True)


def _bind_type(reflected: sqltypes.TypeEngine) -> sqltypes.TypeEngine:
    """Bind UUIDs as strings; keep JSON, timestamps and text as the table declares them."""
    if isinstance(reflected, sqltypes.Uuid):
        return Uuid(as_uuid=False)
    if isinstance(reflected, sqltypes.JSON | sqltypes.DateTime):
        return reflected
    return Text()


def _row(table: Table, target: DatabaseTarget, values: dict, output: dict, now: datetime) -> dict:
    """Shape each value for its column's real type (JSON object or text, timestamp or ISO text)."""
    json_type = table.c[target.json_column].type
    values[target.json_column] = (
        output if isinstance(json_type, sqltypes.JSON) else json.dumps(output, ensure_ascii=False)
    )
    if target.agent_name is not None:
        values["created_by"] = target.agent_name
    if target.include_timestamp:
        moment = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
        is_timestamp = isinstance(table.c["created_at"].type, sqltypes.DateTime)
        values["created_at"] = moment if is_timestamp else moment.isoformat()
    return values


def write_row(
    target: DatabaseTarget,
    *,
    file_execution_id: str,
    file_path: str | None,
    execution_id: str,
    output: dict,
    now: datetime,
) -> str:
    """Replace the file execution's row in one transaction (DELETE then INSERT); return the target."""
    engine = engine_for(target)
    try:
        _ensure_table(engine, target)
        with engine.begin() as conn:
            table = _bound_table(conn, target)
            base = {
                "file_execution_id": str(file_execution_id),
                target.file_path_column: file_path,
                target.execution_id_column: str(execution_id),
            }
            row = _row(table, target, base, output, now)
            conn.execute(delete(table).where(table.c.file_execution_id == str(file_execution_id)))
            conn.execute(insert(table).values(row))
    except SQLAlchemyError as exc:
        raise ConnectorError(_safe_message(exc, target)) from exc
    except (TypeError, ValueError) as exc:
        raise ConnectorError(f"the output cannot be stored as JSON: {exc}") from exc
    return f"table {target.label}"


def _safe_message(exc: SQLAlchemyError, target: DatabaseTarget) -> str:
    """The driver's first line only (no SQL, no parameters), with the password scrubbed."""
    source = getattr(exc, "orig", None) or exc
    lines = str(source).strip().splitlines()
    text = lines[0] if lines else type(source).__name__
    if target.url.password:
        text = text.replace(str(target.url.password), "********")
    return f"database error: {text[:300]}"
