"""`unstract serve` ending: killed with -9 it leaves no process behind; stopped, it is quick when idle and
names what it waits for when a job runs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest
from rq import Worker

from tests.engine.workers import SLOW_RULE
from tests.serving import Served, children_of, pid_alive, redis_at, serve_env, unstract_command
from unstract.serve import WORKER_GRACE_SECONDS

pytestmark = pytest.mark.slow

GONE_TIMEOUT = 15


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def _descendants(pid: int) -> list[int]:
    found = []
    for child, _ in children_of(pid):
        found += [child, *_descendants(child)]
    return found


def _idle_workers(served: Served, data_dir, count: int) -> list[int]:
    """Pids of the `count` workers once each is registered in Redis and its scheduler (one) runs."""
    def ready():
        pids = sorted(w.pid for w in Worker.all(connection=redis_at(data_dir)))
        schedulers = [c for pid in pids for c, _ in children_of(pid)]
        return len(pids) == count and len(schedulers) == 1 and pids
    return _wait_for(ready, 60, f"{count} workers registered, one scheduler")


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_kill_9_of_serve_takes_redis_the_workers_and_the_scheduler_along(tmp_path):
    data_dir = tmp_path / "data"
    served = Served(serve_env(data_dir), workers=2)
    family = []
    try:
        _idle_workers(served, data_dir, 2)
        family = _descendants(served.process.pid)
        assert len(family) == 4  # redis-server, two workers, the scheduler one of them forked
        served.process.kill()
        served.process.wait()
        _wait_for(lambda: not any(pid_alive(pid) for pid in family), GONE_TIMEOUT,
                  f"no process of {family} outlives serve")
    finally:
        served.process.kill()
        _kill_all(family)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_an_idle_serve_stops_without_waiting_out_the_worker_grace(tmp_path, signum):
    data_dir = tmp_path / "data"
    # SIGHUP's default action, whatever this test process inherited (run under nohup, serve keeps running)
    served = Served(serve_env(data_dir), workers=2, preexec_fn=_default_sighup)
    family = []
    try:
        _idle_workers(served, data_dir, 2)
        family = _descendants(served.process.pid)
        served.process.send_signal(signum)  # SIGHUP: the terminal serve ran in was closed
        assert served.process.wait(timeout=WORKER_GRACE_SECONDS) == 0
        assert not any(pid_alive(pid) for pid in family)
        said = served.output()
        assert "Stopping: the web server, then the workers, then Redis." in said and said[-1] == "Stopped.", said
        waits = [line for line in said if line.startswith("Waiting up to")]  # a worker slow to exit, when busy
        assert all(line.endswith("to exit (it runs no job); it is killed after that.") for line in waits), said
    finally:
        served.process.kill()
        _kill_all(family)


def _default_sighup() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _ignore_sighup() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def test_serve_started_under_nohup_keeps_running_on_sighup(tmp_path):
    served = Served(serve_env(tmp_path / "data"), workers=0, preexec_fn=_ignore_sighup)
    try:
        served.process.send_signal(signal.SIGHUP)
        time.sleep(2)  # long enough for a stop to have begun
        assert served.get("/healthz")[0] == 200
    finally:
        assert served.stop() == 0


def _json(served, path, key, body=None):
    status, raw = served.request(path, key=key, body=body)
    return status, json.loads(raw)


def test_stopping_serve_during_a_job_names_the_worker_job_and_execution_it_waits_for(tmp_path):
    data_dir = tmp_path / "data"
    env = serve_env(data_dir)
    served = Served(env, workers=1)
    try:
        key = subprocess.run([*unstract_command(), "apikey", "create", "--org", "default", "--email",
                              "admin@example.com"], env=env, capture_output=True, text=True, check=True,
                             timeout=60).stdout.strip()
        base = "/api/v1/unstract/default/"
        workflow_id = _json(served, base + "workflow/?workflow_name=Demo%20workflow", key)[1]["results"][0]["id"]
        assert _json(served, base + "tool_instance/", key, {"workflow_id": workflow_id, "tool_id": "field_extractor",
                                                            "metadata": {"rules": [SLOW_RULE]}})[0] == 201
        samples = data_dir / "storage" / "demo" / "samples"
        for n in range(2):
            (samples / f"slow-{n}.txt").write_text("a" * 27 + "!")  # seconds of backtracking per file
        status, run = _json(served, base + "workflow/execute/", key, {"workflow_id": workflow_id, "timeout": 0})
        assert status == 202
        files_url = f"{base}workflow/execution/{run['execution_id']}/files/"
        _wait_for(lambda: any(f["status"] == "EXECUTING" and f["file_name"].startswith("slow-")
                              for f in _json(served, files_url, key)[1]["results"]), 90, "a slow file is processed")
        worker = next(pid for pid, cmdline in children_of(served.process.pid) if "worker" in cmdline)
    finally:
        code = served.stop()
    assert code == 0
    waits = [m.groups() for line in served.output()
             if (m := re.fullmatch(r"Waiting up to \d+ s for worker (\d+) to finish job (\S+) \(execution (\S+)\); "
                                   r"it is killed after that\.", line))]
    assert len(waits) == 1, served.lines
    pid, job_id, execution_id = waits[0]
    assert (int(pid), execution_id) == (worker, run["execution_id"])
    assert run["execution_id"] in job_id
