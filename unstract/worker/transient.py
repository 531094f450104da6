"""The one rule for "transient": a database error that waiting can cure (docs/RELIABILITY.md, Transient faults).

A connection refused, reset or closed by the server, a server starting up or shutting down, SQLite's
"database is locked": the same statement succeeds once the database is back. Constraint violations, bad
SQL, missing tables or columns, wrong credentials are not transient: repeating them changes nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

T = TypeVar("T")

# PostgreSQL SQLSTATEs of a server going away or not ready yet: class 08 (connection exception),
# admin/crash shutdown, cannot connect now (starting up, in recovery), too many connections.
TRANSIENT_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}
# psycopg raises connection failures without a SQLSTATE; among its FATAL messages only these are transient.
TRANSIENT_FATAL_MESSAGES = ("starting up", "shutting down", "in recovery mode", "too many clients",
                            "terminating connection due to administrator command")
SQLITE_BUSY_MESSAGES = ("database is locked", "database table is locked")

FIRST_DELAY = 0.25
LONGEST_DELAY = 2.0


def is_transient(exc: BaseException) -> bool:
    """True when `exc`, or any exception it was raised from, is a transient database failure."""
    return any(_is_transient_itself(cause) for cause in _causes(exc))


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, the exceptions it was raised from or during, and a SQLAlchemy error's driver error."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__, getattr(current, "orig", None)]


def _is_transient_itself(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True  # SQLAlchemy recognised a disconnect for this dialect
    if isinstance(exc, ConnectionError):  # refused, reset, aborted, broken pipe
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return str(exc).startswith(SQLITE_BUSY_MESSAGES)
    return _is_transient_psycopg(exc)


def _is_transient_psycopg(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency; SQLite-only installs still work
        return False
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    if state is not None:
        return state.startswith("08") or state in TRANSIENT_SQLSTATES
    message = str(exc)
    return "FATAL:" not in message or any(phrase in message for phrase in TRANSIENT_FATAL_MESSAGES)


def retry_transient(action: Callable[[], T], budget_seconds: float,
                    before_retry: Callable[[BaseException, float], None]) -> T:
    """Run `action` until it returns; on a transient error call `before_retry(exc, delay)`, wait with
    exponential backoff and run it again, for at most `budget_seconds` of waiting. Any other error,
    or a transient one past the budget, is raised as is."""
    deadline = time.monotonic() + budget_seconds
    delay = FIRST_DELAY
    while True:
        try:
            return action()
        except Exception as exc:
            if not is_transient(exc) or time.monotonic() + delay > deadline:
                raise
            before_retry(exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, LONGEST_DELAY)


def database_answers(engine: Engine) -> bool:
    """One `SELECT 1` on a pooled connection (pre-pinged): can jobs use the database right now?"""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not now"; the caller waits and asks again
        log.debug("database health check failed: %s", exc.__class__.__name__)
        return False


def describe(exc: BaseException) -> str:
    """A one-line, secret-free description of a transient error for the execution log."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else exc.__class__.__name__)[:200]
