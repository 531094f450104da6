"""The DATABASE destination's settings and a row write, shared by the SQLite and PostgreSQL connector tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from unstract.connectors.database import write_row

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def settings(**overrides):
    """The DATABASE destination configuration with its defaults filled in, as services pass it."""
    base = {
        "table": "invoices",
        "includeAgent": False,
        "agentName": "Unstract/DBWriter",
        "includeTimestamp": False,
        "filePath": "file_path",
        "executionId": "execution_id",
        "columnMode": "Write JSON to a single column",
        "singleColumnName": "data",
    }
    return base | overrides


def write(target, file_execution_id=None, output=None, **kwargs):
    return write_row(
        target,
        file_execution_id=file_execution_id or str(uuid.uuid4()),
        file_path=kwargs.get("file_path", "inbox/a.pdf"),
        execution_id=kwargs.get("execution_id", str(uuid.uuid4())),
        output=output if output is not None else {"total": 1},
        now=kwargs.get("now", NOW),
    )
