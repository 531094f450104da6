"""Prometheus metrics, one definition each (docs/OBSERVABILITY.md, Metrics).

prometheus_client picks its multiprocess storage when it is first imported, from PROMETHEUS_MULTIPROC_DIR,
so this module imports it only on first use (`metrics()`); `unstract serve` sets the variable before any
metric exists, and the processes it starts inherit it. Other modules record through the helpers here
(or `metrics().<name>`), never by creating metrics of their own.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from redis.exceptions import RedisError
from sqlalchemy import event

from unstract.extensions import db

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
QUEUE_STATES = ("queued", "started", "scheduled", "deferred", "failed", "finished")
COUNTED_KEY = "unstract.metric_counts"  # key in Session.info: outcomes to count once committed

_metrics: SimpleNamespace | None = None
_lock = threading.Lock()


def metrics() -> SimpleNamespace:
    """The process's metric objects, created on first use."""
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = _define()
    return _metrics


# Label values shown from the start (at zero), so every process exposes the series before its first event.
# Code that records LLM calls or webhook deliveries uses these values too.
KNOWN_LABELS = {
    "executions": ("COMPLETED", "ERROR", "STOPPED"),
    "files": ("COMPLETED", "ERROR", "STOPPED"),
    "llm_tokens": ("prompt", "completion"),
    "llm_requests": ("success", "error"),
    "webhook_deliveries": ("succeeded", "failed"),
}


def _define() -> SimpleNamespace:
    from prometheus_client import Counter, Histogram, disable_created_metrics

    disable_created_metrics()  # no *_created series: half the series, nothing a dashboard uses
    defined = _families(Counter, Histogram)
    for name, values in KNOWN_LABELS.items():
        for label in values:
            getattr(defined, name).labels(label)
    return defined


def _families(Counter, Histogram) -> SimpleNamespace:  # noqa: N803 - the prometheus_client classes
    return SimpleNamespace(
        executions=Counter("unstract_executions_total", "Executions that ended, by final status", ["status"]),
        files=Counter("unstract_files_total", "File executions that ended, by final status", ["status"]),
        file_duration=Histogram("unstract_file_duration_seconds", "Run time of one tool step on one file",
                                ["tool"], buckets=DURATION_BUCKETS),
        llm_tokens=Counter("unstract_llm_tokens_total", "LLM tokens used, by kind (prompt, completion)", ["kind"]),
        llm_cost=Counter("unstract_llm_cost_usd_total", "Estimated LLM cost in US dollars"),
        llm_requests=Counter("unstract_llm_requests_total", "LLM requests, by outcome", ["outcome"]),
        webhook_deliveries=Counter("unstract_webhook_deliveries_total", "Webhook delivery attempts, by outcome",
                                   ["outcome"]),
        http_requests=Counter("unstract_http_requests_total", "HTTP requests answered",
                              ["method", "endpoint", "status"]),
        http_duration=Histogram("unstract_http_request_duration_seconds", "Time to answer an HTTP request",
                                ["method", "endpoint"], buckets=DURATION_BUCKETS),
    )


# --- Multiprocess directory ----------------------------------------------------------------------

def prepare_multiprocess_dir(data_dir: Path) -> Path:
    """`unstract serve`: an empty directory for this run's metric files (PROMETHEUS_MULTIPROC_DIR if set,
    else <data dir>/metrics), exported to this process and the ones it starts. Must run before the first
    metric is created in this process."""
    if _metrics is not None:
        raise RuntimeError("metrics were created before the multiprocess directory was set")
    directory = Path(os.environ.get(MULTIPROC_ENV) or data_dir / "metrics")
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


# --- Recording -----------------------------------------------------------------------------------

def count_after_commit(kind: str, status: str, amount: int = 1) -> None:
    """Execution or file outcomes (`kind` executions|files) written by the current transaction: counted
    once it commits, so a rolled-back or lost claim counts nothing."""
    if amount > 0:
        db.session.info.setdefault(COUNTED_KEY, []).append((kind, status, amount))


@event.listens_for(db.session, "after_commit")
def _count_committed(session) -> None:
    for kind, status, amount in session.info.pop(COUNTED_KEY, ()):
        getattr(metrics(), kind).labels(status=status).inc(amount)


@event.listens_for(db.session, "after_rollback")
def _forget_uncommitted(session) -> None:
    session.info.pop(COUNTED_KEY, None)


def observe_tool(tool_id: str, started: float) -> None:
    """One tool step on one file, timed from `started` (time.perf_counter())."""
    metrics().file_duration.labels(tool=tool_id).observe(time.perf_counter() - started)


def observe_request(method: str, endpoint: str, status: int, seconds: float) -> None:
    m = metrics()
    m.http_requests.labels(method=method, endpoint=endpoint, status=str(status)).inc()
    m.http_duration.labels(method=method, endpoint=endpoint).observe(seconds)


# --- Exposition ----------------------------------------------------------------------------------

class QueueCollector:
    """unstract_queue_jobs{queue,state} (every state, zeros included) and the age of the oldest waiting
    job, read from Redis at scrape time."""

    def __init__(self, queues):
        self.queues = queues  # a callable returning the RQ queues the service uses

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        jobs = GaugeMetricFamily("unstract_queue_jobs", "Jobs per queue and state", labels=["queue", "state"])
        oldest = GaugeMetricFamily("unstract_queue_oldest_job_age_seconds",
                                   "Age of the oldest queued job (0 when none)", labels=["queue"])
        for queue in self.queues():
            try:
                counts, age = queue_counts(queue), oldest_job_age(queue)
            except RedisError:
                continue  # Redis is away: the scrape still answers, without these samples
            for state in QUEUE_STATES:
                jobs.add_metric([queue.name, state], counts.get(state, 0))
            oldest.add_metric([queue.name], age)
        yield jobs
        yield oldest


def queue_counts(queue) -> dict[str, int]:
    return {
        "queued": queue.count,
        "started": queue.started_job_registry.count,
        "scheduled": queue.scheduled_job_registry.count,
        "deferred": queue.deferred_job_registry.count,
        "failed": queue.failed_job_registry.count,
        "finished": queue.finished_job_registry.count,
    }


def oldest_job_age(queue) -> float:
    from datetime import UTC, datetime

    job_ids = queue.get_job_ids(0, 0)
    job = queue.fetch_job(job_ids[0]) if job_ids else None
    if job is None or job.enqueued_at is None:
        return 0.0
    enqueued = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - enqueued).total_seconds())


class EveryFamily:
    """The multiprocess collector's families, plus an empty one (HELP and TYPE, no sample) for each metric we
    define that no process has recorded yet: the storage only holds label sets that were used, so a labelled
    family would otherwise be missing until its first sample (a single process lists it from the start)."""

    def __init__(self, collector):
        self.collector = collector

    def collect(self):
        seen = set()
        for family in self.collector.collect():
            seen.add(family.name)
            yield family
        for metric in vars(metrics()).values():
            for family in metric.describe():
                if family.name not in seen:
                    yield family


def registry(queues):
    """A registry with every process's metrics of this host (multiprocess mode) or this process's, plus the
    queue gauges."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    metrics()  # defined, so a process that recorded nothing yet still shows the metric families
    combined = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        combined.register(EveryFamily(multiprocess.MultiProcessCollector(None)))
    else:
        combined.register(REGISTRY)
    combined.register(QueueCollector(queues))
    return combined


def exposition(queues) -> tuple[bytes, str]:
    from prometheus_client import generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

    # The classic text format, as every Prometheus version reads it (our names need no escaping).
    return generate_latest(registry(queues)), CONTENT_TYPE_PLAIN_0_0_4
