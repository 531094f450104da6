"""An RQ worker process on the `unstract` queue, with RQ's scheduler and our reaper (docs/EXECUTION.md, Recovery)."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask
from redis.exceptions import RedisError
from rq import SimpleWorker

from unstract import metrics
from unstract.extensions import db, rq
from unstract.worker.context import shutdown_requested
from unstract.worker.jobs import bind_app
from unstract.worker.transient import database_answers

log = logging.getLogger(__name__)

DATABASE_FIRST_PAUSE = 0.25
DATABASE_LONGEST_PAUSE = 2.0


class UnstractWorker(SimpleWorker):
    """Jobs run in the worker process itself (no fork per job): the app, its connection pool and the
    loaded tools are reused, and a SIGKILLed worker is recovered by leases and the reaper."""

    app: Flask | None = None  # set by build_worker; the database health check needs it

    def request_stop(self, signum, frame):
        """Warm shutdown: RQ lets the current job finish; a batch job ends after its current file."""
        shutdown_requested.set()
        super().request_stop(signum, frame)

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """Take no job while the database is unreachable: a job taken now would only fail or wait."""
        if not self.wait_for_database():
            return None
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    def wait_for_database(self) -> bool:
        """Until the database answers, sleep with backoff (keeping the RQ heartbeat); False on a stop request
        (docs/RELIABILITY.md, Transient faults)."""
        pause = DATABASE_FIRST_PAUSE
        while not self._database_answers():
            if self._stop_requested:
                return False
            log.warning("database unreachable; taking no job for %.1f s", pause)
            self.heartbeat()
            time.sleep(pause)
            pause = min(pause * 2, DATABASE_LONGEST_PAUSE)
        return True

    def _database_answers(self) -> bool:
        if self.app is None:
            return True
        with self.app.app_context():
            return database_answers(db.engine)


def start_reaper(app: Flask, interval: float, stop: threading.Event) -> threading.Thread:
    """Run reap_once every `interval` seconds in a daemon thread with its own app context."""
    from unstract.worker.reaper import reap_once

    def loop() -> None:
        while not stop.wait(interval):
            try:
                with app.app_context():
                    reap_once()
            except RedisError as exc:
                log.warning("reaper pass skipped: Redis unavailable (%s)", exc.__class__.__name__)
            except Exception:  # noqa: BLE001 - the next pass retries; a reaper must not die
                log.exception("reaper pass failed")

    thread = threading.Thread(target=loop, name="reaper", daemon=True)
    thread.start()
    return thread


def build_worker(app: Flask) -> UnstractWorker:
    with app.app_context():
        queue = rq.queue()
        worker = UnstractWorker([queue], connection=queue.connection)
        worker.app = app
        return worker


def run_worker(app: Flask, *, burst: bool = False) -> None:
    """Work the `unstract` queue with scheduler and reaper until stopped (or empty with burst).

    RQ's loop quits when Redis goes away mid-job; the database rows stay correct, so we simply
    start a fresh RQ worker once Redis answers again (lost jobs are re-enqueued by the reaper).
    """
    bind_app(app)
    metrics.metrics()  # this worker's series exist (at zero) before its first job
    stop = threading.Event()
    settings = app.config["UNSTRACT_SETTINGS"]
    if not burst:
        start_reaper(app, settings.reap_interval_seconds, stop)
    pause = 1.0
    try:
        while True:
            worker = None
            try:
                worker = build_worker(app)
                worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
            except RedisError as exc:
                log.warning("lost Redis (%s); restarting the worker loop in %.0f s", exc.__class__.__name__, pause)
            if burst or (worker is not None and worker._stop_requested):
                return
            time.sleep(pause)
            pause = min(pause * 2, 30.0)
    finally:
        stop.set()
