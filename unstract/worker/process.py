"""An RQ worker process on the `unstract` queue, with RQ's scheduler and our reaper (docs/EXECUTION.md, Recovery)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

from flask import Flask
from redis.exceptions import RedisError
from rq import SimpleWorker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import StopRequested
from rq.scheduler import RQScheduler

from unstract.extensions import rq
from unstract.lifeline import follow_parent, stop_self
from unstract.worker.context import shutdown_requested
from unstract.worker.jobs import bind_app

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOP_POLL_SECONDS = 0.2
SCHEDULER_GRACE_SECONDS = 5  # its loop notices a stop within a second


class LinkedScheduler(RQScheduler):
    """RQ's scheduler process, bound to the worker that forked it: a SIGKILLed worker leaves none behind."""

    def start(self):
        self._parent_pid = os.getpid()  # the worker; `start` runs in it, just before the fork
        return super().start()

    def work(self):
        follow_parent(self._parent_pid, stop_self(), grace=SCHEDULER_GRACE_SECONDS)
        super().work()


class UnstractWorker(SimpleWorker):
    """Jobs run in the worker process itself (no fork per job): the app, its connection pool and the
    loaded tools are reused, and a SIGKILLed worker is recovered by leases and the reaper."""

    def request_stop(self, signum, frame):
        """Warm shutdown: RQ lets the current job finish; a batch job ends after its current file."""
        shutdown_requested.set()
        super().request_stop(signum, frame)

    def _start_scheduler(self, burst=False, logging_level=None, date_format=DEFAULT_LOGGING_DATE_FORMAT,
                         log_format=DEFAULT_LOGGING_FORMAT):
        """RQ's own, with the scheduler class swapped for LinkedScheduler."""
        self.scheduler = LinkedScheduler(
            self.queues, connection=self.connection, serializer=self.serializer, date_format=date_format,
            logging_level=logging_level if logging_level is not None else self.log.level, log_format=log_format)
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()

    def release_connections(self) -> None:
        """Drop the pub/sub connection and its thread even when Redis is gone (RQ's teardown then skips
        it, and the thread would reconnect on its own once Redis is back: one leaked client per outage)."""
        if self.pubsub_thread is not None:
            self.pubsub_thread.stop()
        if self.pubsub is not None:
            self.pubsub.close()
        if self.pubsub_thread is not None and self.pubsub_thread is not threading.current_thread():
            self.pubsub_thread.join(timeout=1)
        self.pubsub = self.pubsub_thread = None


class ReconnectDelay:
    """Pause before a new worker loop: doubling while Redis stays away, back to the start once it answered."""

    def __init__(self, first: float = 1.0, ceiling: float = 30.0):
        self.first, self.ceiling = first, ceiling
        self.current = first

    def next(self) -> float:
        delay, self.current = self.current, min(self.current * 2, self.ceiling)
        return delay

    def reset(self) -> None:
        self.current = self.first


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
        return UnstractWorker([queue], connection=queue.connection)


def _request_stop(_signum, _frame) -> None:
    """Between two RQ loops (RQ's handlers belong to the loop that ended): stop before starting another."""
    shutdown_requested.set()


def _install_stop_handlers() -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, _request_stop)


def work_once(app: Flask, *, burst: bool) -> bool:
    """One RQ worker loop; True when it reached Redis (so a later failure is a new outage)."""
    worker = build_worker(app)
    try:
        worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
    except RedisError as exc:
        log.warning("lost Redis (%s); the worker loop ended", exc.__class__.__name__)
    except StopRequested:  # a stop signal landed in RQ's teardown, after its loop had ended
        pass
    finally:
        _install_stop_handlers()
        worker.release_connections()
    return worker.birth_date is not None


def _sleep_unless_stopping(seconds: float) -> None:
    """Short sleeps: a stop signal's handler only sets a flag (PEP 475 resumes an interrupted sleep)."""
    deadline = time.monotonic() + seconds
    while not shutdown_requested.is_set() and time.monotonic() < deadline:
        time.sleep(min(STOP_POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def run_worker(app: Flask, *, burst: bool = False, parent_pid: int | None = None) -> None:
    """Work the `unstract` queue with scheduler and reaper until stopped (or empty with burst).

    RQ's loop quits when Redis goes away mid-job; the database rows stay correct, so we simply
    start a fresh RQ worker once Redis answers again (lost jobs are re-enqueued by the reaper).
    With `parent_pid` (`unstract serve` passes its own) the worker stops when that process dies.
    """
    bind_app(app)
    _install_stop_handlers()
    if parent_pid is not None:
        follow_parent(parent_pid, stop_self())
    stop = threading.Event()
    settings = app.config["UNSTRACT_SETTINGS"]
    if not burst:
        start_reaper(app, settings.reap_interval_seconds, stop)
    delay = ReconnectDelay()
    try:
        while not shutdown_requested.is_set():
            if work_once(app, burst=burst):
                delay.reset()
            if burst or shutdown_requested.is_set():
                return
            pause = delay.next()
            log.warning("starting a new worker loop in %.0f s", pause)
            _sleep_unless_stopping(pause)
    finally:
        stop.set()
