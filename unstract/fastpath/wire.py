"""Reading columns straight into the text the API shows, for list pages.

A list page of 50 executions holds a few hundred UUIDs and timestamps. Read through the models' own
types, each becomes a `uuid.UUID` or an aware `datetime` (SQLite stores both as text, so that is a parse),
which the response turns back into text. Read through the types below, each comes out of the database
once as text: `WireText` for the canonical UUID (8-4-4-4-12, lower case) and the API's timestamp
(`2026-01-31T12:00:00.000000Z`), which the API's fields pass through as it is (fastpath.dump).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import String, TypeDecorator, Uuid, cast, type_coerce
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.functions import FunctionElement


class WireText(str):
    """A value already in the text the API shows for it (a UUID's or a timestamp's)."""

    __slots__ = ()


def wire_timestamp(value: datetime) -> str:
    """The API's form of a timestamp: ISO 8601 in UTC, with microseconds and Z. A naive value is UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


def wire_uuid(stored: str) -> WireText:
    """The canonical text of a UUID from its stored text: 32 hex digits on SQLite, canonical already on
    PostgreSQL (read through a cast)."""
    if len(stored) == 32:
        stored = f"{stored[:8]}-{stored[8:12]}-{stored[12:16]}-{stored[16:20]}-{stored[20:]}"
    elif len(stored) != 36:
        stored = str(uuid.UUID(stored))
    return WireText(stored.lower())


class WireUuid(TypeDecorator):
    """A UUID column read (and bound) as its canonical text. PostgreSQL sends it as text (a cast in the
    SELECT), so no `uuid.UUID` is made on either side; bound values may be text or `uuid.UUID`."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        # PostgreSQL: bound values are cast to uuid, so they compare with the column's own type.
        return dialect.type_descriptor(PG_UUID(as_uuid=False) if dialect.name == "postgresql" else String(32))

    def column_expression(self, column):
        # Text on PostgreSQL, the stored text already on SQLite; read by this type's result_processor.
        return type_coerce(cast(column, String), self)

    def bind_processor(self, dialect):
        native = dialect.name == "postgresql"

        def process(value):
            if value is None:
                return None
            text = str(value) if isinstance(value, uuid.UUID) else value
            return text if native else text.replace("-", "").lower()

        return process

    def result_processor(self, dialect, coltype):
        def process(value):
            return None if value is None else wire_uuid(value)

        return process


class WireTimestamp(TypeDecorator):
    """A UTCDateTime column read as the API's text. SQLite stores `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, which
    only needs its T and Z; PostgreSQL formats it in the SELECT (timestamp_text)."""

    impl = String
    cache_ok = True

    def column_expression(self, column):
        return type_coerce(timestamp_text(column), self)

    def result_processor(self, dialect, coltype):
        if dialect.name == "sqlite":
            return _sqlite_timestamp
        return lambda value: None if value is None else WireText(value)


class timestamp_text(FunctionElement):  # noqa: N801 - an SQL function, named as SQLAlchemy names them
    """A timestamp column as text: the API's on PostgreSQL, the stored text elsewhere (SQLite)."""

    type = String()
    inherit_cache = True


@compiles(timestamp_text)
def _stored_text(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(timestamp_text, "postgresql")
def _postgresql_text(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def _sqlite_timestamp(stored: str | None) -> WireText | None:
    if stored is None:
        return None
    if len(stored) == 26 and stored[10] == " ":  # SQLAlchemy's own storage format, always with microseconds
        return WireText(f"{stored[:10]}T{stored[11:]}Z")
    return WireText(wire_timestamp(datetime.fromisoformat(stored)))


def wire_column(attribute: InstrumentedAttribute):
    """A mapped column as a SELECT column labelled by its attribute name: UUIDs and timestamps as
    WireText, other values as the model reads them."""
    column_type = attribute.property.columns[0].type
    for model_type, wire_type in _wire_types():
        if isinstance(column_type, model_type):
            return type_coerce(attribute, wire_type).label(attribute.key)
    return attribute.label(attribute.key)


def text_uuid(column):
    """A UUID column compared with ids given as text or `uuid.UUID` (bound through WireUuid)."""
    return type_coerce(column, WireUuid())


@cache
def _wire_types() -> tuple:
    from unstract.models.base import UTCDateTime  # here: the models import the session, which imports this

    return ((Uuid, WireUuid()), (UTCDateTime, WireTimestamp()))
