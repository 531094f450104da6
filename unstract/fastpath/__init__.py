"""The speed-ups that lean on library internals, fenced: everything else imports them from here only.

- Fast dumps (`FastDumpSchema`, `passes_wire_text`; marshmallow's private per-field dump steps).
- Wire reads (`wire_column`, `text_uuid`, `WireText`, `wire_timestamp`): list pages read UUIDs and
  timestamps as the API's text (SQLAlchemy types compiled per dialect).
- Responses (`ORJSONProvider`): orjson bodies (Flask's provider hooks).
- Read-only requests (`RequestSession`, `register_read_only_requests`, `start_writing`,
  `WriteInReadOnlyRequest`): GETs read through an AUTOCOMMIT view of the engine, without a transaction.
- `ordering_of`: a SELECT's ORDER BY, which SQLAlchemy keeps private.

tests/test_fastpath.py checks every assumption these make about the libraries, so an upgrade that breaks
one fails there, loudly; what each one buys is measured in docs/PERFORMANCE.md ("Fifth round").
"""

from unstract.fastpath.dump import FastDumpSchema, passes_wire_text
from unstract.fastpath.responses import ORJSONProvider
from unstract.fastpath.sessions import (
    SAFE_METHODS,
    RequestSession,
    WriteInReadOnlyRequest,
    register_read_only_requests,
    start_writing,
)
from unstract.fastpath.statements import ordering_of
from unstract.fastpath.wire import WireText, text_uuid, wire_column, wire_timestamp

__all__ = [
    "SAFE_METHODS", "FastDumpSchema", "ORJSONProvider", "RequestSession", "WireText",
    "WriteInReadOnlyRequest", "ordering_of", "passes_wire_text", "register_read_only_requests", "start_writing",
    "text_uuid", "wire_column", "wire_timestamp",
]
