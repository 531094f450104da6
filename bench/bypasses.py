"""Each speed-up that leans on a library's private behaviour, switched off for an A/B run of bench.lists
(`--without NAME,…`): the same cases measured with every bypass and without one, round after round.

A switch puts the library's stock path back in the running process (the served app is in-process), so the
"without" figures cost what the code would cost without that bypass; the responses stay 200, though a
switched-off representation may differ in form (e.g. `wire_text` shows UUID objects as the stock fields do).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
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
        # UUIDs and timestamps read as objects and formatted by the fields instead of read as the API's text
        "wire_text": lambda: [mock.patch.object(wire, "WireText", _as_objects)],
        # GETs in transactions (BEGIN … ROLLBACK on PostgreSQL) instead of through the AUTOCOMMIT view
        "autocommit": lambda: [mock.patch.object(sessions.RequestSession, "get_bind", Session.get_bind)],
        # SQLite joins a page's keys as a subquery instead of reading its rows `WHERE id IN (keys)`
        "sqlite_in": lambda: [mock.patch("unstract.paging.rows_of_keys", _joined_rows_of_keys)],
    }


NAMES = ("dump", "orjson", "wire_text", "autocommit", "sqlite_in")


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


# --- In-process A/B: CPU time per request, every variant interleaved ------------------------------

def cpu_per_request(app, dataset, names: list[str], *, only: str | None, reps: int) -> list[dict]:
    """For each case and page of bench.lists, the median CPU time of the request through the app (Flask's
    test client, this thread's CPU: other load on the machine barely moves it; the wall time beside it),
    with every bypass and without each of `names`, the variants taking turns request by request."""
    import re
    import time

    from bench.lists import PAGE_SIZE, all_cases, api_path, with_page

    client, headers = app.test_client(), {"Authorization": f"Bearer {dataset.token}"}
    results = []
    for case in all_cases(app, dataset):
        if only and not re.search(only, f"{case.group} {case.label}"):
            continue
        count = client.get(api_path(with_page(case.path, 1)), headers=headers).get_json()["count"]
        pages = math.ceil(count / PAGE_SIZE)
        for page in [1] + ([max(2, round(pages * 0.9))] if pages >= 3 else []):
            path = api_path(with_page(case.path, page))
            samples: dict = {name: [] for name in [None, *names]}
            for rep in range(reps + 2):
                for name in samples:
                    with without(name):
                        started, started_cpu = time.perf_counter(), time.thread_time()
                        response = client.get(path, headers=headers)
                        spent = (time.thread_time() - started_cpu, time.perf_counter() - started)
                    assert response.status_code == 200, (path, name, response.status_code)
                    if rep >= 2:  # two warm-up rounds
                        samples[name].append(spent)
            results.append({"group": case.group, "label": case.label, "page": page,
                            "cpu_ms": {n: _median_ms(s, 0) for n, s in samples.items()},
                            "wall_ms": {n: _median_ms(s, 1) for n, s in samples.items()}})
            print(cpu_row(results[-1], names), flush=True)
    return results


def _median_ms(samples: list[tuple[float, float]], index: int) -> float:
    return round(1000 * statistics.median(sample[index] for sample in samples), 3)


def cpu_row(result: dict, names: list[str]) -> str:
    base = result["cpu_ms"][None]
    deltas = " | ".join(f"{result['cpu_ms'][n] - base:+.2f}" for n in names)
    return f"| {result['group']} | {result['label']} | {result['page']} | {base:.2f} | {deltas} |"


def main(argv: list[str] | None = None) -> int:
    import argparse

    from bench import common
    from bench.data import loaded

    parser = argparse.ArgumentParser(prog="python -m bench.bypasses", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database-url")
    parser.add_argument("--only", help="regular expression on 'group label' (bench.lists' cases)")
    parser.add_argument("--reps", type=int, default=30, help="timed requests per case, page and variant")
    parser.add_argument("--without", default=",".join(NAMES))
    parser.add_argument("--out", type=Path, help="write the results as JSON to this file")
    args = parser.parse_args(argv)
    names = [n for n in args.without.split(",") if n]
    common.interrupt_on_sigterm()
    with loaded(args.scale, args.database_url) as (app, _env, dataset):
        print(f"# load average {common.machine_info()['load_at_start']}\n| list | filter | page | CPU ms, every "
              f"bypass | {' | '.join('+ without ' + n for n in names)} |\n|---|---|---:|---:|"
              + "---:|" * len(names), flush=True)
        results = cpu_per_request(app, dataset, names, only=args.only, reps=args.reps)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
