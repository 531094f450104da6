"""Prometheus metrics, one definition each (docs/OBSERVABILITY.md, Metrics).

prometheus_client picks its multiprocess storage when it is first imported, from PROMETHEUS_MULTIPROC_DIR,
so this module imports it only on first use (`metrics()`); `unstract serve` sets the variable before any
metric exists, and the processes it starts inherit it. Other modules record through the helpers here
(or `metrics().<name>`), never by creating metrics of their own.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from datetime import UTC
from functools import partial
from pathlib import Path
from types import SimpleNamespace

from redis.exceptions import RedisError
from sqlalchemy import event

from unstract.extensions import db

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
QUEUE_STATES = ("queued", "started", "scheduled", "deferred", "failed", "finished")
COUNTED_KEY = "unstract.metric_counts"  # key in Session.info: outcomes to count once committed

log = logging.getLogger(__name__)
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
    # In no registry: metrics_text writes their text (prometheus_client's exposition is too slow for a scrape)
    defined = _families(partial(Counter, registry=None), partial(Histogram, registry=None))
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
        try:
            states = queue_states(self.queues())
        except RedisError:
            states = []  # Redis is away: the scrape still answers, without these samples
        for name, counts, age in states:
            for state in QUEUE_STATES:
                jobs.add_metric([name, state], counts[state])
            oldest.add_metric([name], age)
        yield jobs
        yield oldest


def queue_states(queues) -> list[tuple[str, dict[str, int], float]]:
    """(queue name, jobs per state, age of its oldest queued job) of each queue, in two pipelined Redis round
    trips and without changing anything: RQ's own counts clean their registries first (a started job whose
    worker died is moved to the failed ones), so entries that cleaning would remove — scores up to now in the
    started, finished and failed registries — are subtracted instead."""
    from rq.job import Job

    queues, now = list(queues), time.time()
    if not queues:
        return []
    with queues[0].connection.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.llen(queue.key)
            pipe.lindex(queue.key, 0)
            for registry in _registries(queue):
                pipe.zcard(registry.key)
                pipe.zcount(registry.key, 0, now)
        replies = iter(pipe.execute())
        counts, heads = [], []
        for _queue in queues:
            counted = {"queued": next(replies)}
            heads.append(next(replies))
            for state in QUEUE_STATES[1:]:  # _registries' order
                total, expired = next(replies), next(replies)
                counted[state] = total - (expired if state in EXPIRING_STATES else 0)
            counts.append(counted)
        for head in filter(None, heads):
            pipe.hget(Job.key_for(head.decode() if isinstance(head, bytes) else head), "enqueued_at")
        enqueued = iter(pipe.execute())  # no round trip when every queue is empty
    ages = [_age(next(enqueued), now) if head else 0.0 for head in heads]
    return list(zip((queue.name for queue in queues), counts, ages, strict=True))


EXPIRING_STATES = ("started", "finished", "failed")  # registries whose entries expire at their score


def _registries(queue) -> list:
    """The registries of QUEUE_STATES after "queued", in that order."""
    return [queue.started_job_registry, queue.scheduled_job_registry, queue.deferred_job_registry,
            queue.failed_job_registry, queue.finished_job_registry]


def _age(enqueued_at: bytes | str | None, now: float) -> float:
    from rq.utils import str_to_date

    if not enqueued_at:
        return 0.0
    enqueued = str_to_date(enqueued_at)
    if enqueued.tzinfo is None:
        enqueued = enqueued.replace(tzinfo=UTC)
    return max(0.0, now - enqueued.timestamp())


class EveryFamily:
    """The multiprocess collector's families, plus an empty one (HELP and TYPE, no sample) for each metric we
    define that no process has recorded yet: the storage only holds label sets that were used, so a labelled
    family would otherwise be missing until its first sample (a single process lists it from the start).
    Used only when the directory holds files metrics_text does not sum (see exposition)."""

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


def exposition(queues) -> tuple[bytes, str]:
    """The text of /metrics: our metrics (this process's, or every process's of the host in multiprocess
    mode), the process's own collectors in single-process mode, and the queue gauges."""
    from prometheus_client import REGISTRY, generate_latest, multiprocess
    from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

    from unstract import metrics_text  # imports prometheus_client: only once metrics exist (module docstring)

    defined = list(vars(metrics()).values())
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        parts = [metrics_text.process_text(metric) for metric in defined]
        parts.append(generate_latest(REGISTRY).decode())  # CPU, memory, GC of this process
    elif (host := metrics_text.host_text(Path(directory), defined)) is not None:
        parts = [host]
    else:
        _warn_library_exposition(directory)
        parts = [generate_latest(EveryFamily(multiprocess.MultiProcessCollector(None))).decode()]
    parts.append(generate_latest(QueueCollector(queues)).decode())
    # The classic text format, as every Prometheus version reads it (our names need no escaping).
    return "".join(parts).encode(), CONTENT_TYPE_PLAIN_0_0_4


_warned_directories: set[str] = set()


def _warn_library_exposition(directory: str) -> None:
    if directory not in _warned_directories:
        _warned_directories.add(directory)
        log.warning("%s holds metric files other than counters and histograms (a gauge's?): /metrics uses "
                    "prometheus_client's slower multiprocess collector", directory)
