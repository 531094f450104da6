"""File identities: history lookups, reservations and the history upsert (docs/EXECUTION.md, File history)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Row, select
from sqlalchemy.dialects import postgresql, sqlite

from unstract.extensions import db
from unstract.models import FileExecution, FileHistory, FileReservation, Status, Workflow
from unstract.models.base import utcnow


def dialect_insert(model):
    """INSERT with ON CONFLICT support for the database in use (SQLite or PostgreSQL)."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(model.__table__)


def max_execution_count(workflow: Workflow, default_limit: int) -> int:
    """The workflow's retry limit, or `default_limit` (UNSTRACT_MAX_FILE_EXECUTION_COUNT) when it has none."""
    limit = workflow.max_file_execution_count
    return limit if limit is not None else default_limit


def expiry_cutoff(source_configuration: dict | None, now: datetime | None = None) -> datetime | None:
    """History rows last processed before this time are expired (reprocess_after_interval)."""
    config = source_configuration or {}
    if config.get("fileReprocessingHandling") != "reprocess_after_interval":
        return None
    days = int(config.get("reprocessInterval") or 30)
    if config.get("intervalUnit") == "months":
        days *= 30
    return (now or utcnow()) - timedelta(days=days)


def find_history(workflow_id: uuid.UUID, path_key: str, cache_key: str) -> FileHistory | None:
    return db.session.scalar(select(FileHistory).where(
        FileHistory.workflow_id == workflow_id, FileHistory.path_key == path_key,
        FileHistory.cache_key == cache_key))


def live_history(workflow_id: uuid.UUID, path_key: str, cache_key: str,
                 cutoff: datetime | None) -> FileHistory | None:
    """The identity's history row unless it expired (expired rows never cause a skip)."""
    row = find_history(workflow_id, path_key, cache_key)
    if row is None or (cutoff is not None and row.modified_at < cutoff):
        return None
    return row


def live_histories(workflow_id: uuid.UUID, identities: list[tuple[str, str]],
                   cutoff: datetime | None) -> dict[tuple[str, str], Row]:
    """live_history for many (path_key, cache_key) identities in one query: the unexpired rows by identity."""
    wanted = set(identities)
    rows = db.session.execute(select(
        FileHistory.path_key, FileHistory.cache_key, FileHistory.status, FileHistory.execution_count,
        FileHistory.modified_at,
    ).where(FileHistory.workflow_id == workflow_id, FileHistory.path_key.in_({path for path, _ in wanted})))
    return {(row.path_key, row.cache_key): row for row in rows
            if (row.path_key, row.cache_key) in wanted and (cutoff is None or row.modified_at >= cutoff)}


def reserve_many(workflow_id: uuid.UUID, execution_id: uuid.UUID,
                 claims: list[tuple[str, str, uuid.UUID]]) -> set[uuid.UUID]:
    """reserve() for many (path_key, cache_key, file_execution_id): the file executions now holding theirs."""
    if not claims:
        return set()
    now = utcnow()
    db.session.execute(dialect_insert(FileReservation).on_conflict_do_nothing(), [
        {"id": uuid.uuid4(), "workflow_id": workflow_id, "path_key": path_key, "cache_key": cache_key,
         "execution_id": execution_id, "file_execution_id": fe_id, "created_at": now}
        for path_key, cache_key, fe_id in claims])
    return set(db.session.scalars(select(FileReservation.file_execution_id).where(
        FileReservation.file_execution_id.in_([fe_id for _, _, fe_id in claims]))))


def reserve(workflow_id: uuid.UUID, path_key: str, cache_key: str, execution_id: uuid.UUID,
            file_execution_id: uuid.UUID) -> bool:
    """Insert-if-absent; True when this file execution now holds the identity."""
    statement = dialect_insert(FileReservation).values(
        id=uuid.uuid4(), workflow_id=workflow_id, path_key=path_key, cache_key=cache_key,
        execution_id=execution_id, file_execution_id=file_execution_id, created_at=utcnow(),
    ).on_conflict_do_nothing()
    db.session.execute(statement)
    holder = reservation_holder(workflow_id, path_key, cache_key)
    return holder is not None and holder[1] == file_execution_id


def reservation_holder(workflow_id: uuid.UUID, path_key: str, cache_key: str) -> tuple | None:
    """(execution_id, file_execution_id) holding the identity, or None."""
    return db.session.execute(select(FileReservation.execution_id, FileReservation.file_execution_id).where(
        FileReservation.workflow_id == workflow_id, FileReservation.path_key == path_key,
        FileReservation.cache_key == cache_key)).first()


def history_metadata(fe: FileExecution) -> dict:
    return {"file_name": fe.file_name, "file_size": fe.file_size, "mime_type": fe.mime_type,
            "execution_id": str(fe.execution_id), "file_execution_id": str(fe.id)}


def record_outcome(workflow_id: uuid.UUID, fe: FileExecution, status: str, *, error: str = "",
                   result: dict | None = None, result_size: int = 0) -> None:
    """Upsert the identity's history row: count 1 on insert, +1 in SQL on conflict (EXECUTION.md, File history)."""
    now = utcnow()
    values = {
        "status": status, "error": error if status == Status.ERROR else "",
        "result": result if status == Status.COMPLETED else None,
        "result_size": result_size if status == Status.COMPLETED else 0,
        "metadata": history_metadata(fe), "provider_file_uuid": fe.provider_file_uuid, "modified_at": now,
    }
    statement = dialect_insert(FileHistory).values(
        id=uuid.uuid4(), workflow_id=workflow_id, cache_key=fe.file_hash, file_path=fe.file_path,
        path_key=fe.file_path or "", execution_count=1, created_at=now, **values,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["workflow_id", "path_key", "cache_key"],
        set_={**values, "execution_count": FileHistory.__table__.c.execution_count + 1},
    )
    db.session.execute(statement)
