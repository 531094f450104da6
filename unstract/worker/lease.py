"""Lease heartbeats (§4.7): one thread per worker process keeps every held lease fresh.

A job registers its claimed row while it works; every L/3 seconds the keeper extends the lease,
conditional on the holder still owning the row. One long-lived thread instead of a thread per file
keeps the per-file cost at a dictionary insert.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask
from sqlalchemy import update

from unstract.extensions import db
from unstract.models import Execution, FileExecution, Status
from unstract.models.base import utcnow


class LeaseKeeper:
    def __init__(self) -> None:
        self._held: dict[int, tuple] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def hold(self, app: Flask, statement_for, lease_seconds: int):
        """Renew the lease described by `statement_for(expires)` until the block ends."""
        key = next(self._ids)
        with self._lock:
            self._held[key] = (app, statement_for, lease_seconds)
            self._ensure_thread()
        self._wake.set()
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(key, None)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
            self._thread.start()

    def _interval(self) -> float:
        with self._lock:
            shortest = min((lease for _, _, lease in self._held.values()), default=30)
        return max(shortest / 3, 0.2)

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval())
            self._wake.clear()
            with self._lock:
                held = list(self._held.values())
            for app, statement_for, lease_seconds in held:
                self._renew(app, statement_for, lease_seconds)

    @staticmethod
    def _renew(app: Flask, statement_for, lease_seconds: int) -> None:
        try:
            with app.app_context(), db.engine.begin() as conn:
                conn.execute(statement_for(utcnow() + timedelta(seconds=lease_seconds)))
        except Exception:  # noqa: BLE001 - a missed beat is retried; expiry is the safety net
            pass


_keeper = LeaseKeeper()


def file_heartbeat(app: Flask, file_execution_id: uuid.UUID, claim_token: uuid.UUID, lease: int):
    def statement(expires):
        return (update(FileExecution)
                .where(FileExecution.id == file_execution_id, FileExecution.claim_token == claim_token,
                       FileExecution.status == Status.EXECUTING)
                .values(lease_expires_at=expires))
    return _keeper.hold(app, statement, lease)


def execution_heartbeat(app: Flask, execution_id: uuid.UUID, phase: str, lease: int):
    def statement(expires):
        return (update(Execution)
                .where(Execution.id == execution_id, Execution.status == Status.EXECUTING,
                       Execution.phase == phase)
                .values(lease_expires_at=expires))
    return _keeper.hold(app, statement, lease)
