"""Metrics across real processes: `unstract serve` (web + two workers) aggregating into one /metrics, its
multiprocess directory cleaned at start, and `unstract worker --metrics-port`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.serving import Served, serve_env, unstract_command
from tests.test_metrics import FAMILIES

pytestmark = pytest.mark.slow

EXECUTE = "/api/v1/unstract/<org_id>/workflow/execute/"


def samples_of(text: str) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def pids_of(directory: Path) -> set[int]:
    """Processes that wrote metric files (counter_<pid>.db, histogram_<pid>.db)."""
    return {int(path.stem.rsplit("_", 1)[1]) for path in directory.glob("*.db")}


def test_serve_aggregates_the_web_and_two_workers(tmp_path):
    data_dir = tmp_path / "data"
    stale = data_dir / "metrics" / "counter_999999.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by an earlier run")
    env = serve_env(data_dir)
    served = Served(env, workers=2)
    try:
        assert not stale.exists()  # cleaned at start
        key = subprocess.run([*unstract_command(), "apikey", "create", "--org", "default", "--email",
                              "admin@example.com"], env=env, capture_output=True, text=True, check=True,
                             timeout=60).stdout.strip()
        base = "/api/v1/unstract/default/workflow/"
        demo = json.loads(served.get(base + "?workflow_name=Demo%20workflow", key=key)[1])["results"][0]["id"]
        status, body = served.request(base + "execute/", key=key, body={"workflow_id": demo, "timeout": 60})
        assert (status, json.loads(body)["execution_status"]) == (200, "COMPLETED")
        status, text = served.get("/metrics")
        assert status == 200
        samples = samples_of(text.decode())
        web_pid = served.process.pid
        writers = pids_of(data_dir / "metrics")
    finally:
        assert served.stop() == 0
    assert value(samples, "unstract_executions_total", status="COMPLETED") == 1
    assert value(samples, "unstract_files_total", status="COMPLETED") == 3  # counted only by workers
    assert value(samples, "unstract_file_duration_seconds_count", tool="text_extractor") == 3
    assert value(samples, "unstract_file_duration_seconds_count", tool="field_extractor") == 3
    assert value(samples, "unstract_http_requests_total", method="POST", endpoint=EXECUTE, status="200") == 1
    assert value(samples, "unstract_queue_jobs", queue="unstract", state="queued") == 0
    # The web process and both workers wrote their own files; the scrape summed them.
    assert web_pid in writers and len(writers - {web_pid}) == 2


def test_a_fresh_serve_lists_every_family_before_any_sample(tmp_path):
    # The multiprocess storage only holds label sets that were used: the families of requests and tool
    # steps would be missing from a first scrape without the empty families the exposition adds.
    served = Served(serve_env(tmp_path / "data"))
    try:
        status, text = served.get("/metrics")
    finally:
        assert served.stop() == 0
    assert status == 200
    listed = {family.name for family in text_string_to_metric_families(text.decode())}
    assert {name.removesuffix("_total") for name in FAMILIES} <= listed
    for name in FAMILIES:
        assert f"# TYPE {name} " in text.decode(), name
    assert value(samples_of(text.decode()), "unstract_executions_total", status="ERROR") == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_answering(url: str, token: str) -> tuple[int, str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return fetch(url, token)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"{url} never answered")


def test_a_worker_serves_metrics_on_its_own_port(base_env):
    port = free_port()
    env = {**os.environ, **base_env, "UNSTRACT_METRICS_TOKEN": "w-token"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    worker = subprocess.Popen([str(Path(sys.executable).parent / "unstract"), "worker", "--metrics-port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        status, text = wait_answering(f"http://127.0.0.1:{port}/metrics", "w-token")
        assert status == 200, text
        assert fetch(f"http://127.0.0.1:{port}/metrics")[0] == 401
        assert fetch(f"http://127.0.0.1:{port}/metrics", "nope")[0] == 401
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    samples = samples_of(text)
    assert ("unstract_queue_jobs", (("queue", "unstract"), ("state", "queued"))) in samples
    assert value(samples, "unstract_files_total", status="COMPLETED") == 0
    assert "# TYPE unstract_webhook_deliveries_total counter" in text
