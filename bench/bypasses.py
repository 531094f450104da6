"""Each speed-up that leans on a library's private behaviour, switched off for an A/B run of bench.lists
(`--without NAME,…`): the same cases measured with every bypass and without one, round after round.

A switch puts the library's stock path back in the running process (the served app is in-process), so the
"without" figures cost what the code would cost without that bypass; the responses stay 200, though a
switched-off representation may differ in form (e.g. `wire_text` shows UUID objects as the stock fields do).
"""

from __future__ import annotations

import json
import statistics
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from unittest import mock


def _as_objects(text: str):
    """What the models' own types read instead of the API's text: a UUID or an aware datetime."""
    return uuid.UUID(text) if len(text) == 36 and text[8] == "-" else datetime.fromisoformat(text)


def _joined_rows_of_keys(query, key, keys, size):
    """paging.rows_of_keys without SQLite's `WHERE id IN (keys)`: the keys joined as a subquery."""
    subquery = keys.subquery("page_keys")
    return query.join(subquery, subquery.c[0] == key).limit(size)


def _patches() -> dict[str, Callable[[], list]]:
    from flask.json.provider import DefaultJSONProvider
    from flask_sqlalchemy.session import Session
    from marshmallow import Schema

    from unstract.fastpath import dump, responses, sessions, wire

    return {
        # marshmallow's own Schema._serialize instead of the dump plan (fastpath.dump)
        "dump": lambda: [mock.patch.object(dump.FastDumpSchema, "_serialize", Schema._serialize)],
        # Flask's standard-library JSON instead of orjson (stored JSON is parsed and encoded again)
        "orjson": lambda: [mock.patch.object(responses.ORJSONProvider, "response", DefaultJSONProvider.response)],
        # JSON columns parsed on the way out of the database instead of embedded as their stored text
        "stored_json": lambda: [mock.patch.object(wire, "StoredJSON", json.loads)],
        # UUIDs and timestamps read as objects and formatted by the fields instead of read as the API's text
        "wire_text": lambda: [mock.patch.object(wire, "WireText", _as_objects)],
        # GETs in transactions (BEGIN … ROLLBACK on PostgreSQL) instead of through the AUTOCOMMIT view
        "autocommit": lambda: [mock.patch.object(sessions.RequestSession, "get_bind", Session.get_bind)],
        # SQLite joins a page's keys as a subquery instead of reading its rows `WHERE id IN (keys)`
        "sqlite_in": lambda: [mock.patch("unstract.paging.rows_of_keys", _joined_rows_of_keys)],
    }


NAMES = ("dump", "orjson", "stored_json", "wire_text", "autocommit", "sqlite_in")


@contextmanager
def without(name: str | None) -> Iterator[None]:
    """The running code with the bypass `name` switched off (None: every bypass on)."""
    with ExitStack() as stack:
        for patch in (_patches()[name]() if name else []):
            stack.enter_context(patch)
        yield


def comparison(baseline: list[dict], variant: list[dict], name: str) -> list[str]:
    """Markdown rows: each case with every bypass and without `name` (p50, median of the rounds), the
    ratio, and whether the target (2 x raw SQL p50 + 5 ms) still holds without it."""
    rows = []
    for with_it, without_it in zip(baseline, variant, strict=True):
        raw = statistics.median([with_it["raw"]["p50"], without_it["raw"]["p50"]])
        target = 2 * raw + 5.0
        a, b = with_it["endpoint"]["p50"], without_it["endpoint"]["p50"]
        rows.append(f"| {name} | {with_it['group']} | {with_it['label']} | {with_it['page']} | {a} | {b} "
                    f"| {b / max(a, 0.01):.3f} | {target:.1f} | {'yes' if b <= target else '**no**'} |")
    return rows


COMPARISON_HEADER = ("| without | list | filter | page | all bypasses p50 ms | without it p50 ms | ratio "
                     "| target ms | target holds without it |\n|---|---|---|---:|---:|---:|---:|---:|---|")
