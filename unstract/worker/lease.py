"""Lease heartbeats (docs/EXECUTION.md, Claims and leases): one thread per worker process keeps every lease fresh.

A job registers its claimed row while it works; every L/3 seconds the keeper extends the lease,
conditional on the holder still owning the row. One long-lived thread instead of a thread per file
keeps the per-file cost at a dictionary insert: a file that takes less than L/3 is never renewed.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from sqlalchemy import update

from unstract.extensions import db
from unstract.models import Execution, FileExecution, Status
from unstract.models.base import utcnow


@dataclass
class _Lease:
    renew: Callable[[], None]  # one renewal; may raise (a missed beat is retried a third of a lease later)
    seconds: float
    due: float  # time.monotonic() of the next renewal

    @property
    def interval(self) -> float:
        return max(self.seconds / 3, 0.2)


class LeaseKeeper:
    def __init__(self) -> None:
        self._held: dict[int, _Lease] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, app: Flask, statement_for, lease_seconds: int):
        """Renew the lease described by `statement_for(expires)` every third of it until the block ends."""
        def renew() -> None:
            with app.app_context(), db.engine.begin() as conn:
                conn.execute(statement_for(utcnow() + timedelta(seconds=lease_seconds)))
        return self.hold_renewing(renew, lease_seconds)

    @contextmanager
    def hold_renewing(self, renew: Callable[[], None], lease_seconds: float):
        """Call `renew` every third of `lease_seconds` until the block ends (any lease, not only rows).

        The holder has just written the lease, so the first renewal is due a third of a lease later."""
        key = next(self._ids)
        lease = _Lease(renew, lease_seconds, 0.0)
        lease.due = time.monotonic() + lease.interval
        with self._lock:
            sooner = lease.due < min((held.due for held in self._held.values()), default=float("inf"))
            self._held[key] = lease
            self._ensure_thread()
        if sooner:
            self._wake.set()  # the keeper sleeps until its earliest due renewal: recompute
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(key, None)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
            self._thread.start()

    def _seconds_to_next(self) -> float:
        with self._lock:
            earliest = min((held.due for held in self._held.values()), default=None)
        return 30.0 if earliest is None else max(earliest - time.monotonic(), 0.0)

    def _run(self) -> None:
        while True:
            self._wake.wait(self._seconds_to_next())
            self._wake.clear()
            now = time.monotonic()
            with self._lock:
                due = [held for held in self._held.values() if held.due <= now]
            for lease in due:
                self._renew(lease)
                lease.due = now + lease.interval

    @staticmethod
    def _renew(lease: _Lease) -> None:
        try:
            lease.renew()
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


def renewing(renew: Callable[[], None], lease_seconds: float):
    """Keep a lease outside the database (an adapter's call slots in Redis) fresh while the block runs."""
    return _keeper.hold_renewing(renew, lease_seconds)


def waiting_files_heartbeat(app: Flask, waiting: list[uuid.UUID], lease: int):
    """Keep `modified_at` of a batch's files that still wait their turn fresh, so that reaper rule 2
    (PENDING and unchanged for more than L) leaves them to this job for as long as it lives.
    `waiting` is the job's own list; it shrinks as files are taken."""
    def statement(_expires):
        return (update(FileExecution)
                .where(FileExecution.id.in_(list(waiting)), FileExecution.status == Status.PENDING)
                .values(modified_at=utcnow()))
    return _keeper.hold(app, statement, lease)
