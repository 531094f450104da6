"""What observability costs (docs/OBSERVABILITY.md, Costs): `python -m bench.obs_costs --help`.

1. **Scrape**: `GET /metrics` through the app (test client, so the app's whole request path, without a
   network) with about `--series` series, in one process and in multiprocess mode with the samples of
   three processes (this one and two writer processes, as a web server and two workers), timed over
   `--scrapes` scrapes. The series beyond those of a fresh process are made with synthetic `tool`
   label values of `unstract_file_duration_seconds` (18 series each) — the shape a busy host has.
2. **Logging**: the cost of one record through the JSON formatter and through Python's default text
   format (both to /dev/null), and the records a run writes per file in each mode.

The throughput A/B (the engine with `UNSTRACT_LOG_FORMAT=json` against `text`) is `bench.engine` run
twice; docs/OBSERVABILITY.md has the commands.

    .venv/bin/python -m bench.obs_costs
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import common

REQUEST_ID, EXECUTION_ID = "0123456789abcdef0123456789abcdef", "d8fc5ba2-0000-4000-8000-000000000000"
WRITER = """
import sys
from unstract import metrics
m = metrics.metrics()
for n in range(int(sys.argv[1])):
    m.file_duration.labels(tool=f"tool-{n:04d}").observe(0.2)
m.files.labels(status="COMPLETED").inc(3)
"""


def _percentiles(times: list[float]) -> dict:
    times = sorted(times)
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * len(times)) - 1], 2)}


def timed_scrapes(app, token: str | None, scrapes: int) -> dict:
    """Wall and CPU time (this thread) of whole scrapes through the app, of their two parts (the exposition
    of the metrics without the queue gauges, and the queue gauges: Redis round trips), and of
    prometheus_client's own exposition of the same metrics."""
    from unstract import metrics
    from unstract.metrics_http import _service_queues

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = client.get("/metrics", headers=headers).get_data(as_text=True)
    series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    parts = {"scrape": lambda: client.get("/metrics", headers=headers),
             "exposition_without_queues": lambda: metrics.exposition(lambda: []),
             "library_exposition": library_exposition,
             "queue_gauges": lambda: list(metrics.QueueCollector(_service_queues).collect())}
    figures: dict = {"series": series, "bytes": len(body)}
    with app.app_context():
        for name, call in parts.items():
            wall, cpu = [], []
            for _ in range(scrapes):
                started, started_cpu = time.perf_counter(), time.thread_time()
                call()
                wall.append(1000 * (time.perf_counter() - started))
                cpu.append(1000 * (time.thread_time() - started_cpu))
            figures[name] = {"wall": _percentiles(wall), "cpu": _percentiles(cpu)}
    return figures


def library_exposition() -> bytes:
    """What prometheus_client's own exposition of the same metrics costs (the comparison of this run): its
    multiprocess collector over the same files, or its text of this process's metric objects."""
    from prometheus_client import generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    from unstract import metrics

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest(MultiProcessCollector(None))
    return b"".join(generate_latest(metric) for metric in vars(metrics.metrics()).values())


def scrape_figures(work: Path, series: int, scrapes: int, multiprocess: bool) -> dict:
    """One child process per mode: prometheus_client picks its storage on first import."""
    code = f"""
import json, os, sys
sys.path.insert(0, {str(common.PROJECT_ROOT)!r})
from bench import common
from bench.obs_costs import timed_scrapes, WRITER
from pathlib import Path
import subprocess
work = Path({str(work)!r})
with common.redis_server(work / "redis") as redis_url:
    env = common.base_env(work, f"sqlite:///{{work / 'db.sqlite'}}", redis_url)
    with common.migrated_app(env) as app:
        from unstract import metrics
        # synthetic tools: 18 series each (16 buckets + _sum + _count), until about {series} series
        first = timed_scrapes(app, None, 1)["series"]
        tools = max(0, ({series} - first) // 18)
        metrics.metrics()
        for n in range(tools):
            metrics.metrics().file_duration.labels(tool=f"tool-{{n:04d}}").observe(0.2)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            for _ in range(2):
                subprocess.run([sys.executable, "-c", WRITER, str(tools)], check=True, cwd={str(common.PROJECT_ROOT)!r})
        print(json.dumps(timed_scrapes(app, None, {scrapes})))
"""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    if multiprocess:
        directory = work / "metrics"
        directory.mkdir(parents=True, exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=common.PROJECT_ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def library_floor(series: int, scrapes: int) -> dict:
    """prometheus_client alone: generate_latest of a fresh registry with one histogram of the same
    buckets and as many label values as make `series` series (what any exposition costs here)."""
    from prometheus_client import CollectorRegistry, Histogram, generate_latest

    from unstract.metrics import DURATION_BUCKETS

    registry = CollectorRegistry(auto_describe=False)
    histogram = Histogram("floor_seconds", "floor", ["tool"], buckets=DURATION_BUCKETS, registry=registry)
    for n in range(series // (len(DURATION_BUCKETS) + 3)):
        histogram.labels(tool=f"tool-{n:04d}").observe(0.2)
    wall, cpu = [], []
    for _ in range(scrapes):
        started, started_cpu = time.perf_counter(), time.thread_time()
        generate_latest(registry)
        wall.append(1000 * (time.perf_counter() - started))
        cpu.append(1000 * (time.thread_time() - started_cpu))
    return {"wall": _percentiles(wall), "cpu": _percentiles(cpu)}


def record_cost(rounds: int) -> dict:
    """Microseconds per record: the JSON formatter against logging's default text format, to /dev/null."""
    from unstract.logcontext import JsonFormatter, bound

    results = {}
    for name, formatter in (("text", logging.Formatter(logging.BASIC_FORMAT)), ("json", JsonFormatter())):
        with open(os.devnull, "w") as sink:
            handler = logging.StreamHandler(sink)
            handler.setFormatter(formatter)
            logger = logging.getLogger(f"bench.obs_costs.{name}")
            logger.handlers, logger.propagate = [handler], False
            logger.setLevel(logging.INFO)
            with bound(request_id=REQUEST_ID, execution_id=EXECUTION_ID):
                started = time.perf_counter()
                for n in range(rounds):
                    logger.info("file 'invoice-%05d.txt': COMPLETED", n)
                results[f"{name}_us_per_record"] = round(1e6 * (time.perf_counter() - started) / rounds, 2)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--records", type=int, default=50000)
    args = parser.parse_args(argv)
    report = {"machine": common.machine_info()}
    for mode in ("single", "multiprocess"):
        with tempfile.TemporaryDirectory(prefix="obs-costs-") as work:
            report[f"scrape_{mode}"] = scrape_figures(Path(work), args.series, args.scrapes, mode == "multiprocess")
            print(json.dumps({mode: report[f"scrape_{mode}"]}), flush=True)
    report["library_floor"] = library_floor(args.series, args.scrapes)
    print(json.dumps({"library_floor": report["library_floor"]}), flush=True)
    report["logging"] = record_cost(args.records)
    report["load_at_end"] = os.getloadavg()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
