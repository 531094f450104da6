"""Clearing file history while another client keeps listing it (issue 6, item 3): `python -m bench.clear --help`.

POST file-histories/clear/ with `status=ERROR` on the big workflow (100,000 of its 500,000 rows at scale 1,
out of 1,000,000 in the table) while a second client lists the same workflow's history back to back, both
through waitress on loopback. Reports the clear's total time and every wait the listing client saw,
next to the same listing measured alone just before.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

from bench import common
from bench.data import Dataset, loaded
from bench.lists import api_client, api_path, ms, served

TARGET_MS = 200.0
BASELINE_S = 3.0


def keep_listing(client, path: str, stop: threading.Event, waits: list[tuple[float, float]]) -> None:
    """GET `path` back to back until `stop`; records (start, seconds) of every request."""
    while not stop.is_set():
        started = time.perf_counter()
        status, body, seconds = client.get(path)
        assert status == 200, (status, body[:300])
        waits.append((started, seconds))


def listing_alone(client, path: str, seconds: float) -> list[float]:
    waits: list[tuple[float, float]] = []
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    keep_listing(client, path, stop, waits)
    return [w for _, w in waits]


def clear(client, workflow, body: dict) -> tuple[dict, float]:
    status, data, seconds = client.request(
        "POST", api_path(f"workflow/{workflow}/file-histories/clear/"), json.dumps(body).encode(),
        {"Content-Type": "application/json"})
    assert status == 200, (status, data[:300])
    return json.loads(data), seconds


def run(app, env: dict, dataset: Dataset, *, body: dict | None = None, settle_s: float = 0.0) -> dict:
    """Clear `body` (default status=ERROR) on the big workflow under a concurrent listing client; then the
    listing alone right after (and `settle_s` later, when given)."""
    body = body or {"status": "ERROR"}
    listing_path = api_path(f"workflow/{dataset.big_workflow}/file-histories/?page_size=50")
    with served(app) as port:
        writer, reader = api_client(port, dataset), api_client(port, dataset)
        expected, _ = clear(writer, dataset.big_workflow, {**body, "dry_run": True})
        alone = listing_alone(reader, listing_path, BASELINE_S)
        waits: list[tuple[float, float]] = []
        stop = threading.Event()
        thread = threading.Thread(target=keep_listing, args=(reader, listing_path, stop, waits), daemon=True)
        thread.start()
        time.sleep(0.5)
        started = time.perf_counter()
        result, seconds = clear(writer, dataset.big_workflow, body)
        stop.set()
        thread.join(timeout=60)
        after = listing_alone(reader, listing_path, BASELINE_S)
        time.sleep(settle_s)
        settled = listing_alone(reader, listing_path, BASELINE_S) if settle_s else []
        writer.close(), reader.close()
    during = [w for start, w in waits if start + w >= started and start <= started + seconds]
    report = {"filter": body, "expected": expected["deleted_count"], "deleted": result["deleted_count"],
              "clear_s": round(seconds, 2), "rows_per_s": round(result["deleted_count"] / seconds),
              **{f"listing_{name}_ms": summary(samples) for name, samples in (
                  ("alone", alone), ("during", during), ("right_after", after), (f"{settle_s:.0f}s_after", settled))
                 if samples}}
    report["ok"] = report["listing_during_ms"]["max"] <= TARGET_MS
    print(f"clear: {json.dumps(report)}", flush=True)
    return report


def summary(samples: list[float]) -> dict:
    return {**ms(samples), "max": round(1000 * max(samples), 1), "n": len(samples)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.clear", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full data set (0.1: quick)")
    parser.add_argument("--database-url", help="a PostgreSQL server (…/postgres); a throwaway bench_<random> "
                                               "database is created on it and dropped (default: SQLite)")
    parser.add_argument("--json", type=argparse.FileType("w"), help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    common.interrupt_on_sigterm()
    with loaded(args.scale, args.database_url) as (app, env, dataset):
        report = run(app, env, dataset)
    if args.json:
        json.dump(report, args.json, indent=1)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
