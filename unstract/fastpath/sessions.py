"""The request session: a safe-method request reads without a transaction, unless it says it writes.

A request that only reads gains nothing from a transaction: PostgreSQL runs READ COMMITTED, where
every statement takes its own snapshot anyway, and pysqlite never opens one for a SELECT. Leaving
out BEGIN and ROLLBACK saves two round trips per request on PostgreSQL (docs/PERFORMANCE.md, item 13).
Relies on `Session.get_bind` as Flask-SQLAlchemy's override point and on AUTOCOMMIT engines handing
out driver connections in autocommit mode (tests/test_fastpath.py). A GET that writes (the contract's
clear-file-marker, an API key's last use) calls `start_writing()` first, and the rest of its request
runs in transactions as any POST does; a write without it is refused, so none slips into a read-only
request unnoticed.
"""

from __future__ import annotations

import threading
from weakref import WeakKeyDictionary

from flask import Flask, request
from flask_sqlalchemy.session import Session
from sqlalchemy import Engine, event

READ_ONLY = "unstract.read_only"  # key in Session.info
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_autocommit_engines: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()
_views_lock = threading.Lock()


class WriteInReadOnlyRequest(RuntimeError):
    """A safe-method request wrote without calling start_writing() first."""


class RequestSession(Session):
    """Flask-SQLAlchemy's session, reading through an AUTOCOMMIT view of the engine (same pool) while
    the request is read-only."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if bind is None and self.info.get(READ_ONLY) and isinstance(engine, Engine):
            return autocommit_view(engine)
        return engine


def autocommit_view(engine: Engine) -> Engine:
    """One AUTOCOMMIT view per engine: the session keeps one connection per bind object, so it must be
    the same object for every statement of a request, whichever thread made it first."""
    view = _autocommit_engines.get(engine)
    if view is None:
        with _views_lock:
            view = _autocommit_engines.get(engine)
            if view is None:
                view = _autocommit_engines[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return view


def start_writing(session: Session) -> None:
    """Let the rest of a read-only request write, in transactions: the connection it read on is handed
    back, and the next statement takes one with a transaction. Loaded objects are expired, as after
    any commit. A no-op on requests that write anyway."""
    if session.info.pop(READ_ONLY, False) and session.in_transaction():
        session.commit()  # ends the session's hold on the AUTOCOMMIT connection; nothing to commit


@event.listens_for(RequestSession, "do_orm_execute")
def _refuse_statement_writes(state) -> None:
    if state.session.info.get(READ_ONLY) and (state.is_insert or state.is_update or state.is_delete):
        raise WriteInReadOnlyRequest("a safe-method request writes: call start_writing() first")


@event.listens_for(RequestSession, "before_flush")
def _refuse_flushed_writes(session, _flush_context, _instances) -> None:
    if session.info.get(READ_ONLY) and (session.new or session.deleted or session.dirty):
        raise WriteInReadOnlyRequest("a safe-method request writes: call start_writing() first")


def register_read_only_requests(app: Flask, session_factory) -> None:
    """Mark each safe-method request's session read-only; `session_factory()` is the request's session."""

    @app.before_request
    def _read_only_when_safe() -> None:
        session = session_factory()
        # A session already in a transaction (a test holding one app context over several requests)
        # keeps working as it did.
        if request.method in SAFE_METHODS and not session.in_transaction():
            session.info[READ_ONLY] = True

    @app.teardown_request
    def _end_read_only(_exc) -> None:
        session = session_factory()
        if session.info.pop(READ_ONLY, False) and session.in_transaction():
            session.rollback()  # nothing to undo: it only hands back the AUTOCOMMIT connection
