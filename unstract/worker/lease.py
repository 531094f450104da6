"""Lease heartbeats: a thread that keeps a claimed row's lease fresh while its job works (§4.7)."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from flask import Flask
from sqlalchemy import update

from unstract.extensions import db
from unstract.models import Execution, FileExecution, Status
from unstract.models.base import utcnow


class Heartbeat:
    """Extends `lease_expires_at` every L/3 seconds, conditional on the holder still owning the row."""

    def __init__(self, app: Flask, statement_for, lease_seconds: int):
        self.app = app
        self.statement_for = statement_for
        self.lease_seconds = lease_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        interval = max(self.lease_seconds / 3, 0.2)
        while not self._stop.wait(interval):
            try:
                with self.app.app_context(), db.engine.begin() as conn:
                    expires = utcnow() + timedelta(seconds=self.lease_seconds)
                    conn.execute(self.statement_for(expires))
            except Exception:  # noqa: BLE001 - a missed beat is retried; expiry is the safety net
                continue


def file_heartbeat(app: Flask, file_execution_id: uuid.UUID, claim_token: uuid.UUID, lease: int) -> Heartbeat:
    def statement(expires):
        return (update(FileExecution)
                .where(FileExecution.id == file_execution_id, FileExecution.claim_token == claim_token,
                       FileExecution.status == Status.EXECUTING)
                .values(lease_expires_at=expires))
    return Heartbeat(app, statement, lease)


def execution_heartbeat(app: Flask, execution_id: uuid.UUID, phase: str, lease: int) -> Heartbeat:
    def statement(expires):
        return (update(Execution)
                .where(Execution.id == execution_id, Execution.status == Status.EXECUTING,
                       Execution.phase == phase)
                .values(lease_expires_at=expires))
    return Heartbeat(app, statement, lease)
