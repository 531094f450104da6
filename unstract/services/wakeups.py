"""Waking synchronous executes when their execution settles (docs/EXECUTION.md, Waking a waiting execute).

An execution settles when it becomes terminal or pauses for an action. Whoever commits that change
publishes the execution id on CHANNEL after the commit; each web process runs ONE listener thread on
one Redis connection, which sets the threading.Event of every request waiting for that id. The
database stays the source of truth: a woken request reads the row, and a slow poll
(UNSTRACT_SYNC_POLL_SECONDS) covers lost messages, Redis restarts and UNSTRACT_SYNC_WAKEUPS=false.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import RedisError
from sqlalchemy import event

from unstract.extensions import db, rq

CHANNEL = "unstract:executions-settled"
SETTLED_KEY = "unstract.settled_executions"  # key in Session.info: ids to publish after the commit
SUBSCRIBE_WAIT_SECONDS = 1.0  # a waiter gives the listener this long to (re)subscribe, then just polls
READ_SECONDS = 1.0  # the listener's longest blocking read: how often it looks at its idle time
IDLE_SECONDS = 60.0  # the listener stops after this long without waiters (it starts again on demand)
RECONNECT_SECONDS = (0.2, 5.0)  # first and longest pause between reconnection attempts


def note_settled(execution_id: uuid.UUID) -> None:
    """The current transaction makes this execution terminal or paused: publish it once committed."""
    db.session.info.setdefault(SETTLED_KEY, set()).add(str(execution_id))


@event.listens_for(db.session, "after_commit")
def _publish_after_commit(session) -> None:
    settled = session.info.pop(SETTLED_KEY, None)
    if settled and rq.wakeups_enabled():
        publish(settled)


@event.listens_for(db.session, "after_rollback")
def _forget_after_rollback(session) -> None:
    session.info.pop(SETTLED_KEY, None)


def publish(execution_ids) -> None:
    """One pipelined round trip; a failure only delays the waiters until their next poll."""
    try:
        with rq.connection().pipeline(transaction=False) as pipe:
            for execution_id in sorted(execution_ids):
                pipe.publish(CHANNEL, execution_id)
            pipe.execute()
    except RedisError:
        pass


@contextmanager
def waiter(execution_id: uuid.UUID) -> Iterator[threading.Event]:
    """An Event set when the execution may have settled. Enter it BEFORE reading the row: once entered,
    a settlement committed after any later read wakes it (or the listener was not subscribed in time,
    and the caller's slow poll is the only wake-up)."""
    woken = threading.Event()
    if not rq.wakeups_enabled():
        yield woken
        return
    listener = rq.listener(SettledListener)
    key = str(execution_id)
    listener.add(key, woken)
    try:
        listener.wait_subscribed()
        yield woken
    finally:
        listener.remove(key, woken)


class SettledListener:
    """The process's subscription to CHANNEL, dispatching each id to the Events waiting for it."""

    def __init__(self, connection):
        self.connection = connection
        self.subscribed = threading.Event()
        self._waiters: dict[str, set[threading.Event]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_waiter_at = time.monotonic()
        self._failing = False  # the last connection attempt failed: waiters do not wait for it

    def wait_subscribed(self) -> None:
        """Give a starting listener a moment to subscribe; when Redis is away, do not wait at all."""
        if not self._failing:
            self.subscribed.wait(SUBSCRIBE_WAIT_SECONDS)

    def add(self, key: str, woken: threading.Event) -> None:
        with self._lock:
            self._waiters.setdefault(key, set()).add(woken)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="settled-listener", daemon=True)
                self._thread.start()

    def remove(self, key: str, woken: threading.Event) -> None:
        with self._lock:
            events = self._waiters.get(key, set())
            events.discard(woken)
            if not events:
                self._waiters.pop(key, None)
            self._last_waiter_at = time.monotonic()

    def waiting(self) -> int:
        """Requests waiting now (for tests and the benchmark)."""
        with self._lock:
            return sum(len(events) for events in self._waiters.values())

    def _wake(self, key: str) -> None:
        with self._lock:
            for woken in self._waiters.get(key, ()):
                woken.set()

    def _wake_all(self) -> None:
        """After a gap in the subscription every waiter re-reads the database: messages may be lost."""
        with self._lock:
            for events in self._waiters.values():
                for woken in events:
                    woken.set()

    def _run(self) -> None:
        pause = RECONNECT_SECONDS[0]
        while True:
            try:
                if self._listen():
                    return
            except Exception:  # noqa: BLE001 - the listener outlives any failure; the poll covers the gap
                pass
            if self.subscribed.is_set():
                pause = RECONNECT_SECONDS[0]  # it had worked: a new outage starts the back-off over
            self._failing = True
            self.subscribed.clear()
            self._wake_all()
            time.sleep(pause)
            pause = min(pause * 2, RECONNECT_SECONDS[1])

    def _listen(self) -> bool:
        """Subscribe and dispatch until idle (True: the thread ends) or until the connection fails."""
        pubsub = self.connection.pubsub()
        try:
            pubsub.subscribe(CHANNEL)
            while not self._stop_when_idle():
                message = pubsub.get_message(timeout=READ_SECONDS)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    self._failing = False
                    self._wake_all()  # settlements published while not subscribed were missed
                    self.subscribed.set()
                elif message["type"] == "message":
                    self._wake(message["data"].decode())
            return True
        finally:
            pubsub.close()

    def _stop_when_idle(self) -> bool:
        """Under the lock, so a waiter arriving now starts a new thread instead of relying on this one."""
        with self._lock:
            idle = not self._waiters and time.monotonic() - self._last_waiter_at > IDLE_SECONDS
            if idle:
                self.subscribed.clear()
                self._thread = None
            return idle
