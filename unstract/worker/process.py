"""An RQ worker process on the `unstract` queue, with RQ's scheduler, our reaper (docs/EXECUTION.md, Recovery)
and the workflow scheduler (docs/EXECUTION.md, Schedules)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable

from flask import Flask
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import DequeueTimeout, StopRequested
from rq.scheduler import RQScheduler
from rq.worker import WorkerStatus

from unstract import metrics
from unstract.extensions import db, rq
from unstract.lifeline import follow_parent, stop_self
from unstract.worker.context import shutdown_requested
from unstract.worker.jobs import bind_app
from unstract.worker.transient import database_answers

log = logging.getLogger(__name__)

DATABASE_FIRST_PAUSE = 0.25
DATABASE_LONGEST_PAUSE = 2.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOP_POLL_SECONDS = 0.1
PUBSUB_POLL_SECONDS = 0.5
SCHEDULER_GRACE_SECONDS = 5  # its loop notices a stop within a second
DEQUEUE_WAIT_SECONDS = 5  # an idle worker's blocking wait for a job, between looks at its stop flag


class LinkedScheduler(RQScheduler):
    """RQ's scheduler process, bound to the worker that forked it: a SIGKILLed worker leaves none behind."""

    def start(self):
        self._parent_pid = os.getpid()  # the worker; `start` runs in it, just before the fork
        return super().start()

    def work(self):
        """RQ's loop, with a pause that a stop request cuts short (RQ sleeps its full second)."""
        follow_parent(self._parent_pid, stop_self(), grace=SCHEDULER_GRACE_SECONDS)
        self._install_signal_handlers()
        try:
            self.register_birth()
            while not self._stop_requested:
                if self.should_reacquire_locks:
                    self.acquire_locks()
                self.heartbeat()
                self.enqueue_scheduled_jobs()
                _sleep_unless(lambda: self._stop_requested, self.interval)
            self.stop()
        except RedisError as exc:  # the worker's loop ends too, and its next one starts a new scheduler
            log.warning("scheduler stopped: no Redis (%s)", exc.__class__.__name__)


TICK_OFFSET = 0.05  # seconds after each tick's clock multiple


class UnstractWorker(SimpleWorker):
    """Jobs run in the worker process itself (no fork per job): the app, its connection pool and the
    loaded tools are reused, and a SIGKILLed worker is recovered by leases and the reaper."""

    app: Flask | None = None  # set by build_worker; the database health check needs it

    def request_stop(self, signum, frame):
        """Warm shutdown: RQ lets the current job finish; a batch job ends after its current file."""
        shutdown_requested.set()
        super().request_stop(signum, frame)

    def check_for_suspension(self, burst: bool) -> None:
        """Also where RQ's loop begins: a stop signal that came before RQ installed its handlers (our
        own had only raised the flag) ends the loop here instead of being lost."""
        if shutdown_requested.is_set():
            raise StopRequested()
        super().check_for_suspension(burst)

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

    @property
    def dequeue_timeout(self) -> int:
        """RQ blocks for its TTL less 15 s (405 s); short waits let an idle worker see a stop flag that was
        set while the exception of RQ's handler was lost (see _stopping) within seconds."""
        return DEQUEUE_WAIT_SECONDS

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """RQ's, without its private reconnect loop, whose delay only ever grows and which leaves the
        worker unregistered in a restarted Redis: losing Redis ends this RQ loop, and run_worker starts
        a fresh one (registered again, with its scheduler) once Redis answers. No job is taken while the
        database is unreachable: a job taken then would only fail or wait. `max_idle_time` is unused."""
        if not self.wait_for_database():
            return None
        self.set_state(WorkerStatus.IDLE)
        self.procline("Listening on " + ",".join(self.queue_names()))
        try:
            while not self._stopping():  # a stop whose StopRequested was swallowed still ends the wait
                self.heartbeat()
                if self.should_run_maintenance_tasks:
                    self.run_maintenance_tasks()
                try:
                    result = self.queue_class.dequeue_any(
                        self._ordered_queues, timeout, connection=self.connection, job_class=self.job_class,
                        serializer=self.serializer, death_penalty_class=self.death_penalty_class)
                except DequeueTimeout:
                    continue
                if result is not None:
                    self.reorder_queues(reference_queue=result[1])
                    result[0].redis_server_version = self.get_redis_server_version()
                self.heartbeat()
                return result
            return None
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.warning("lost Redis (%s); leaving the worker loop", exc.__class__.__name__)
            raise StopRequested() from None

    def subscribe(self):
        """RQ's, with a pub/sub thread that wakes every PUBSUB_POLL_SECONDS instead of every 60 s: stopping
        waits for that thread, which made an idle worker's stop take up to a minute."""
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(sleep_time=PUBSUB_POLL_SECONDS, daemon=True,
                                                       exception_handler=self._pubsub_exception_handler)

    def unsubscribe(self):
        """End the pub/sub thread, which closes its connection; safe to call again, and without Redis
        (RQ's teardown skips this when Redis is gone, and the thread then reconnected on its own once
        Redis was back: one leaked client per outage)."""
        thread, pubsub = self.pubsub_thread, self.pubsub
        self.pubsub_thread = self.pubsub = None
        if thread is not None:
            _stop_thread(thread, timeout=2 * PUBSUB_POLL_SECONDS)  # one in RQ's 2 s retry pause ends after it
        elif pubsub is not None:
            pubsub.close()

    def wait_for_database(self) -> bool:
        """Until the database answers, sleep with backoff (keeping the RQ heartbeat); False on a stop request
        (docs/RELIABILITY.md, Transient faults)."""
        pause = DATABASE_FIRST_PAUSE
        while not self._database_answers():
            if self._stopping():
                return False
            log.warning("database unreachable; taking no job for %.1f s", pause)
            self.heartbeat()
            _sleep_unless(self._stopping, pause)
            pause = min(pause * 2, DATABASE_LONGEST_PAUSE)
        return not self._stopping()

    def _stopping(self) -> bool:
        """RQ's flag, or ours: RQ's handler raises StopRequested when idle, and the health check swallows it
        when the signal lands during its query (a stop that was lost until the next signal)."""
        return self._stop_requested or shutdown_requested.is_set()

    def _database_answers(self) -> bool:
        if self.app is None:
            return True
        with self.app.app_context():
            return database_answers(db.engine)


def _stop_thread(thread, timeout: float) -> None:
    """Recent redis-py's stop() waits for the thread (unbounded unless given a timeout); older ones
    neither wait nor take a timeout."""
    try:
        thread.stop(timeout=timeout)
    except TypeError:
        thread.stop()
        thread.join(timeout)


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


def start_periodic(app: Flask, name: str, pause: Callable[[], float], task: Callable[[], None],
                   stop: threading.Event) -> threading.Thread:
    """Run `task` in a daemon thread with its own app context after each `pause()` until `stop`; a failed
    pass is logged and the next one retries (a background duty of the worker must not die)."""

    def loop() -> None:
        while not stop.wait(pause()):
            try:
                with app.app_context():
                    task()
            except RedisError as exc:
                log.warning("%s pass skipped: Redis unavailable (%s)", name, exc.__class__.__name__)
            except Exception:  # noqa: BLE001 - the next pass retries
                log.exception("%s pass failed", name)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread


def start_reaper(app: Flask, interval: float, stop: threading.Event) -> threading.Thread:
    """Run reap_once every `interval` seconds."""
    from unstract.worker.reaper import reap_once

    return start_periodic(app, "reaper", lambda: interval, reap_once, stop)


def start_retention(app: Flask, interval: float, stop: threading.Event) -> threading.Thread:
    """Every `interval` seconds, offer to run the retention purge; at most one worker runs it per
    retention interval (services/retention.purge_if_due). Its own thread: a long purge never delays the reaper."""
    from unstract.extensions import rq
    from unstract.services.retention import purge_if_due

    def purge() -> None:
        report = purge_if_due(app.config["UNSTRACT_SETTINGS"], rq.connection())
        if report is not None:
            log.info("retention: %s", report.describe(dry_run=False))

    return start_periodic(app, "retention", lambda: interval, purge, stop)


def start_scheduler(app: Flask, interval: float, stop: threading.Event) -> threading.Thread:
    """Fire due schedules on every tick (docs/EXECUTION.md, Schedules); every worker runs one, the
    database claim keeps them from firing a due time twice."""
    from unstract.services.scheduler import run_due

    return start_periodic(app, "scheduler", lambda: seconds_to_next_tick(interval, time.time()),
                          lambda: run_due(app.config["UNSTRACT_SETTINGS"]), stop)


def seconds_to_next_tick(interval: float, now: float) -> float:
    """Ticks fall on multiples of `interval` of the clock (plus a hair), in every worker alike: due times
    are whole minutes, so a tick comes right after one instead of up to `interval` later."""
    return interval - now % interval + TICK_OFFSET


def build_worker(app: Flask) -> UnstractWorker:
    with app.app_context():
        queue = rq.queue()
        worker = UnstractWorker([queue], connection=queue.connection)
        worker.app = app
        return worker


def _request_stop(_signum, _frame) -> None:
    """Between two RQ loops (RQ's handlers belong to the loop that ended): stop before starting another."""
    shutdown_requested.set()


def _install_stop_handlers() -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, _request_stop)


def work_once(app: Flask, *, burst: bool) -> bool:
    """One RQ worker loop; True when it reached Redis (so a later failure is a new outage)."""
    worker = None
    try:
        worker = build_worker(app)  # it names its Redis client: the first command that may fail
        worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
    except RedisError as exc:
        log.warning("no Redis (%s); the worker loop ended", exc.__class__.__name__)
    except StopRequested:  # a stop signal landed in RQ's teardown, after its loop had ended
        pass
    finally:
        _install_stop_handlers()
        if worker is not None:
            worker.unsubscribe()
    return worker is not None and worker.birth_date is not None


def _sleep_unless(stopping: Callable[[], bool], seconds: float) -> None:
    """Short sleeps: a stop signal's handler only sets a flag (PEP 475 resumes an interrupted sleep)."""
    deadline = time.monotonic() + seconds
    while not stopping() and time.monotonic() < deadline:
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
    metrics.metrics()  # this worker's series exist (at zero) before its first job
    stop = threading.Event()
    settings = app.config["UNSTRACT_SETTINGS"]
    if not burst:
        start_reaper(app, settings.reap_interval_seconds, stop)
        start_retention(app, settings.reap_interval_seconds, stop)
        start_scheduler(app, settings.schedule_tick_seconds, stop)
    delay = ReconnectDelay()
    try:
        while not shutdown_requested.is_set():
            if work_once(app, burst=burst):
                delay.reset()
            if burst or shutdown_requested.is_set():
                return
            pause = delay.next()
            log.warning("starting a new worker loop in %.0f s", pause)
            _sleep_unless(shutdown_requested.is_set, pause)
    finally:
        stop.set()
