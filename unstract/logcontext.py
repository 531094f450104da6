"""Ids bound to what a process is doing, and its log format (docs/OBSERVABILITY.md, Request ids and logs).

`request_id`, `execution_id` and `file_execution_id` live in context variables: a web request binds its
request id, a worker job binds the request id carried in its RQ job meta and the ids of the execution and
file it works on. With UNSTRACT_LOG_FORMAT=json every log record of the process is one JSON object per
line carrying those ids; stdlib logging only.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_MAX = 200
LOG_FORMATS = ("text", "json")
IDS = ("request_id", "execution_id", "file_execution_id")

_ids: dict[str, ContextVar[str | None]] = {name: ContextVar(name, default=None) for name in IDS}


def current(name: str) -> str | None:
    """The bound value of one of IDS, or None."""
    return _ids[name].get()


@contextmanager
def bound(**ids) -> Iterator[None]:
    """Bind some of IDS (None values are skipped) for the duration of the block."""
    tokens = [(_ids[name], _ids[name].set(str(value))) for name, value in ids.items() if value is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind(name: str, value) -> object:
    """Bind one id until `unbind(token)` (for hooks that cannot wrap a block, like a request's)."""
    return _ids[name].set(None if value is None else str(value))


def unbind(token) -> None:
    token.var.reset(token)


def valid_request_id(value: str | None) -> bool:
    """1–200 visible ASCII characters (no space, no control character)."""
    return value is not None and 0 < len(value) <= REQUEST_ID_MAX and all("!" <= c <= "~" for c in value)


def request_id_from(header: str | None) -> str:
    """The caller's id when it is acceptable, else a generated one."""
    return header if valid_request_id(header) else uuid.uuid4().hex


# --- Formatting --------------------------------------------------------------------------------

class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the ids (null when unknown), exception."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        entry = {
            "time": when.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **{name: _ids[name].get() for name in IDS},
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _OurHandler(logging.StreamHandler):
    """Marks the handler configure_logging installed, so a second call replaces it."""


def configure_logging(log_format: str) -> None:
    """JSON: every record of the process (ours, RQ's, the servers') goes to stderr as one line at INFO and
    above. Text: Python's defaults are left as they are (warnings and errors on stderr)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(handler)
    if log_format != "json":
        return
    handler = _OurHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for other in list(root.handlers):  # e.g. Alembic's fileConfig console handler: one format per process
        root.removeHandler(other)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in ("rq.worker", "rq.scheduler", "rq.queue"):
        logger = logging.getLogger(name)
        for other in list(logger.handlers):
            logger.removeHandler(other)
        logger.propagate = True


def json_logging() -> bool:
    """Whether configure_logging installed the JSON handler (UNSTRACT_LOG_FORMAT=json)."""
    return any(isinstance(handler, _OurHandler) for handler in logging.getLogger().handlers)


def tell_operator(message: str, logger_name: str, level: int = logging.WARNING) -> None:
    """A message for whoever runs the command, on stderr: as is with the text format, one JSON record with
    json (where every stderr line must be JSON)."""
    if json_logging():
        logging.getLogger(logger_name).log(level, message)
    else:
        print(message, file=sys.stderr, flush=True)
