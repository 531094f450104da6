"""Column types and mixins shared by every model: UUID keys, aware UTC timestamps, portable JSON."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, DateTime, TypeDecorator, Uuid, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from unstract.sizes import json_size


def utcnow() -> datetime:
    """Timezone-aware now; the only clock the models use."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC and always returns aware datetimes (SQLite drops the offset on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class Timestamps:
    """created_at on insert, modified_at on insert and on every ORM update."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    modified_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class StoredResult:
    """A file's output (`result`) and its compact JSON size (`result_size`, 0 for none).

    `result` is deferred: rows loaded as objects (pages, jobs) do not carry a large output along unless it
    is read; lists select it only when `result_size` is small (schemas.representations). Setting `result`
    on an object sets `result_size` too; statements that write `result` write its size themselves."""

    result: Mapped[dict | None] = mapped_column(JSONType, nullable=True, deferred=True)
    result_size: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")

    @classmethod
    def __declare_last__(cls) -> None:
        event.listen(cls.result, "set", _set_result_size)


def result_size_of(result) -> int:
    """The `result_size` stored with a result (0 for none)."""
    return 0 if result is None else json_size(result)


def _set_result_size(target, value, _old, _initiator):
    target.result_size = result_size_of(value)
    return value
