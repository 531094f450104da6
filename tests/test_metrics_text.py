"""Our exposition (unstract/metrics_text.py) against prometheus_client's: the same lines, byte for byte, for
one process's metrics and for the files of several real processes; and the queue gauges, which count
without cleaning RQ's registries."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import pytest
from prometheus_client import Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from unstract import metrics, metrics_text
from unstract.extensions import rq

AWKWARD = ['plain', 'with "quotes"', "back\\slash", "new\nline", "comma, inside", "", "ünïcödé", "le"]

# One writer process: counters and a histogram under shared and own label values, big and fractional
# values (sums of binary fractions, exact in any order of adding); argv[1] tells the processes apart.
WRITER = """
import sys
from prometheus_client import Counter, Histogram
labels = {labels!r} + ["only-in-" + sys.argv[1]]
n = int(sys.argv[1])
jobs = Counter("t_jobs_total", "Jobs, by kind", ["kind", "endpoint"])
cost = Counter("t_cost_usd_total", "Cost with a \\\\ backslash\\nand a newline")
seconds = Histogram("t_step_seconds", "Step time", ["tool"], buckets=(0.01, 0.5, 2.5, 1e6))
for index, label in enumerate(labels):
    jobs.labels(kind=label, endpoint="/x/<id>/").inc(index + n)
    seconds.labels(tool=label).observe(0.25 * (index + 1))
    seconds.labels(tool=label).observe(3000000.0 * n)
cost.inc(1234567.25 * n)
"""


@pytest.fixture(autouse=True)
def _as_the_service_sets_it():
    metrics.metrics()  # which turns prometheus_client's *_created series off, as every service process does


def lines(text: str | bytes) -> list[str]:
    return sorted((text.decode() if isinstance(text, bytes) else text).splitlines())


def test_one_process_writes_the_librarys_lines():
    jobs = Counter("one_jobs_total", "Jobs, by kind", ["kind", "endpoint"], registry=None)
    cost = Counter("one_cost_usd_total", "Cost with a \\ backslash\nand a newline", registry=None)
    seconds = Histogram("one_step_seconds", "Step time", ["tool"], buckets=(0.01, 0.5, 2.5, 1e6), registry=None)
    empty = Histogram("one_unused_seconds", "Never observed", ["tool"], registry=None)
    delta = Histogram("one_delta", "Negative bounds: no _sum", buckets=(-1, 0, 1), registry=None)
    delta.observe(-0.5)
    for index, label in enumerate(AWKWARD):
        jobs.labels(kind=label, endpoint="/x/<id>/").inc(index)
        seconds.labels(tool=label).observe(0.25 * (index + 1))
        seconds.labels(tool=label).observe(3e6)
    cost.inc(1234567.25)
    for metric in (jobs, cost, seconds, empty, delta):
        ours = metrics_text.process_text(metric)
        assert lines(ours) == lines(generate_latest(metric)), metric
        assert list(text_string_to_metric_families(ours))  # and Prometheus' parser reads it
    # Values are read anew on every scrape, label texts come from the cache.
    jobs.labels(kind="plain", endpoint="/x/<id>/").inc(10)
    assert lines(metrics_text.process_text(jobs)) == lines(generate_latest(jobs))


def test_the_files_of_three_processes_sum_to_the_librarys_lines(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in (1, 2, 3):
        subprocess.run([sys.executable, "-c", WRITER.format(labels=AWKWARD), str(n)], env=env, check=True)
    assert len(list(tmp_path.glob("counter_*.db"))) == len(list(tmp_path.glob("histogram_*.db"))) == 3

    ours = metrics_text.host_text(tmp_path)
    library = generate_latest(MultiProcessCollector(None, path=str(tmp_path)))
    assert lines(ours) == lines(library)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(ours) for s in family.samples}
    assert samples[("t_jobs_total", (("endpoint", "/x/<id>/"), ("kind", "plain")))] == 1 + 2 + 3
    assert samples[("t_step_seconds_count", (("tool", "le"),))] == 6
    assert samples[("t_step_seconds_bucket", (("le", "+Inf"), ("tool", "only-in-2")))] == 2


def test_a_file_that_grows_or_is_replaced_between_scrapes_is_read_anew(tmp_path):
    """Layouts are cached per file: a new label set (the file grows), a new value (it does not) and a file
    replaced under the same name must all show in the next scrape."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    loop = ('import sys\nfrom prometheus_client import Counter\njobs = Counter("g_jobs_total", "Jobs", ["kind"])\n'
            'for line in sys.stdin:\n    jobs.labels(kind=line.strip()).inc()\n    print("ok", flush=True)\n')

    def matches_the_library() -> bool:
        library = generate_latest(MultiProcessCollector(None, str(tmp_path)))
        return lines(metrics_text.host_text(tmp_path)) == lines(library)

    writer = subprocess.Popen([sys.executable, "-c", loop], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        for kind in ("a", "b", "a", "c"):
            writer.stdin.write(kind + "\n")
            writer.stdin.flush()
            assert writer.stdout.readline().strip() == "ok"
            assert matches_the_library(), kind
    finally:
        writer.stdin.close()
        writer.wait(timeout=30)
    assert 'g_jobs_total{kind="a"} 2.0' in metrics_text.host_text(tmp_path)
    (grown,) = tmp_path.glob("counter_*.db")
    subprocess.run([sys.executable, "-c", WRITER.format(labels=["x"]), "7"], env=env, check=True)
    other = next(path for path in tmp_path.glob("counter_*.db") if path != grown)
    os.replace(other, grown)  # another file under the cached one's name
    assert matches_the_library()
    assert "g_jobs_total" not in metrics_text.host_text(tmp_path)


def test_families_no_process_recorded_are_listed_empty(tmp_path):
    never = Counter("never_used_total", "Not counted by anyone yet", ["status"], registry=None)
    assert metrics_text.host_text(tmp_path, [never]) == (
        "# HELP never_used_total Not counted by anyone yet\n# TYPE never_used_total counter\n")


def test_a_gauge_file_makes_the_scrape_use_the_librarys_collector(app, tmp_path, monkeypatch, caplog):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    gauge = 'from prometheus_client import Gauge\nGauge("t_temperature", "A gauge", multiprocess_mode="max").set(21)'
    subprocess.run([sys.executable, "-c", gauge], env=env, check=True)
    subprocess.run([sys.executable, "-c", WRITER.format(labels=AWKWARD), "1"], env=env, check=True)
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))
    with app.app_context(), caplog.at_level(logging.WARNING, logger="unstract.metrics"):
        body, _ = metrics.exposition(lambda: [])
    text = body.decode()
    assert "t_temperature 21.0" in text and 't_jobs_total{endpoint="/x/<id>/",kind="plain"} 1.0' in text
    assert "# TYPE unstract_executions_total counter" in text  # our families, even unrecorded
    assert "prometheus_client's slower multiprocess collector" in caplog.text


def test_queue_gauges_leave_the_registries_as_they_found_them(app):
    with app.app_context():
        queue = rq.queue()
        connection, now = queue.connection, time.time()
        finished, started = queue.finished_job_registry.key, queue.started_job_registry.key
        try:
            connection.zadd(finished, {"expired-1": now - 60, "expired-2": now - 1, "kept": now + 600})
            connection.zadd(started, {"abandoned:exec": now - 5, "running:exec": now + 60})
            connection.zadd(queue.scheduled_job_registry.key, {"due-long-ago": now - 3600})
            (name, counts, age), = metrics.queue_states([queue])
            assert (name, age) == ("unstract", 0.0)
            assert counts == {"queued": 0, "started": 1, "scheduled": 1, "deferred": 0, "failed": 0, "finished": 1}
            # Nothing was cleaned: RQ's own counts would have removed or moved the expired entries.
            assert connection.zcard(finished) == 3 and connection.zcard(started) == 2
            assert queue.finished_job_registry.count == 1  # RQ agrees once it has cleaned
        finally:
            connection.delete(finished, started, queue.scheduled_job_registry.key)


def test_the_oldest_queued_jobs_age_comes_from_its_enqueue_time(app):
    with app.app_context():
        queue = rq.queue()
        job = queue.enqueue("builtins.print", "never run")  # nothing works this queue in this test
        try:
            time.sleep(0.2)
            (_name, counts, age), = metrics.queue_states([queue])
            assert counts["queued"] == 1 and 0.2 <= age < 30
        finally:
            job.delete()
    assert metrics.queue_states([]) == []


def test_the_label_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(metrics_text, "CACHE_LIMIT", 5)
    jobs = Counter("bounded_jobs_total", "Jobs", ["kind"], registry=None)
    for n in range(20):
        jobs.labels(kind=str(n)).inc()
        metrics_text.process_text(jobs)
    assert len(metrics_text._child_texts) <= 5
    assert lines(metrics_text.process_text(jobs)) == lines(generate_latest(jobs))


def test_a_metric_of_another_shape_gets_the_librarys_text():
    jobs = Counter("shape_jobs_total", "Jobs", ["kind"], registry=None)
    jobs.labels(kind="a").inc(2)

    class Reshaped:
        """A counter as a later prometheus_client might keep it: public methods only."""

        describe, collect = jobs.describe, jobs.collect

    assert metrics_text.process_text(Reshaped()) == generate_latest(jobs).decode()
