"""`unstract serve` as a real process tree: waitress, the embedded Redis, workers and their supervision."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from functools import partial

import pytest

from tests.serving import (
    Served,
    listening_tcp_inodes,
    pid_alive,
    redis_at,
    serve_env,
    socket_inodes,
    unstract_command,
    wait_for_worker_child,
)
from unstract.serve import WorkerPool, report_running_jobs

pytestmark = pytest.mark.slow


def test_serve_runs_web_embedded_redis_and_a_worker_then_stops_on_sigterm(tmp_path):
    data_dir = tmp_path / "data"
    served = Served(serve_env(data_dir))
    try:
        status, body = served.get("/healthz")
        assert status == 200
        assert json.loads(body) == {"status": "ok", "database": "ok", "redis": "ok"}
        assert served.get("/login")[0] == 200
        assert (data_dir / "redis.sock").is_socket()
        redis_pid = int(redis_at(data_dir).info("server")["process_id"])
        assert redis_at(data_dir).config_get("port") == {"port": "0"}
        assert not socket_inodes(redis_pid) & listening_tcp_inodes()
        worker_pid = wait_for_worker_child(served.process.pid)
    finally:
        code = served.stop()
    assert code == 0
    assert not pid_alive(redis_pid)
    assert not pid_alive(worker_pid)
    assert not (data_dir / "redis.sock").exists()


def test_demo_workflow_runs_to_completion_right_after_the_first_start(tmp_path):
    data_dir = tmp_path / "data"
    env = serve_env(data_dir)
    served = Served(env)
    try:
        key = subprocess.run([*unstract_command(), "apikey", "create", "--org", "default", "--email",
                              "admin@example.com"], env=env, capture_output=True, text=True, check=True,
                             timeout=60).stdout.strip()
        base = "/api/v1/unstract/default/workflow/"
        workflows = {w["workflow_name"]: w for w in json.loads(served.get(base, key=key)[1])["results"]}
        assert sorted(workflows) == ["Demo workflow", "Invoice extraction"]
        status, body = served.request(base + "execute/", key=key,
                                      body={"workflow_id": workflows["Demo workflow"]["id"], "timeout": 60})
        run = json.loads(body)
        assert (status, run["execution_status"], run["error"]) == (200, "COMPLETED", None)
        execution = json.loads(served.get(f"{base}execution/{run['execution_id']}/", key=key)[1])
        # The LLM demo waits for its adapter's base URL and key, and says so for every file.
        status, body = served.request(base + "execute/", key=key,
                                      body={"workflow_id": workflows["Invoice extraction"]["id"], "timeout": 120})
        invoices = json.loads(body)["execution_id"]
        files = json.loads(served.get(f"{base}execution/{invoices}/files/", key=key)[1])["results"]
    finally:
        assert served.stop() == 0
    samples = sorted(p.name for p in (data_dir / "storage" / "demo" / "samples").iterdir())
    assert execution["total_files"] == len(samples) == 3
    output = data_dir / "storage" / "demo" / "output" / "samples"
    assert sorted(p.name for p in output.iterdir()) == [f"{name}.json" for name in samples]
    assert json.loads((output / "invoice-1001.pdf.json").read_text()) == {
        "invoice_number": "INV-1001", "total": 1250.5}
    assert sorted(f["file_name"] for f in files) == ["invoice-2001.pdf", "invoice-2002.txt", "invoice-2003-scanned.pdf"]
    assert {f["execution_error"] for f in files} == {
        "llm_extractor: the adapter 'Demo LLM' is not configured yet: an org admin sets its base URL, model and API "
        "key on the LLM adapters page."}


def test_first_start_prints_the_admin_password_once_and_a_restart_keeps_the_data(tmp_path):
    data_dir = tmp_path / "data"
    first = Served(serve_env(data_dir), workers=0)
    assert first.stop() == 0
    passwords = [line for line in first.lines if line.startswith("Admin password for ")]
    assert len(passwords) == 1
    assert re.fullmatch(r"Admin password for admin@example\.com: [A-Za-z0-9]{20}", passwords[0])
    assert (data_dir / "secret_key").stat().st_mode & 0o777 == 0o600
    secret = (data_dir / "secret_key").read_text()

    second = Served(serve_env(data_dir), workers=0)
    try:
        assert second.get("/healthz")[0] == 200
    finally:
        assert second.stop(signal.SIGINT) == 0
    assert not any(line.startswith("Admin password") for line in second.lines)
    assert (data_dir / "secret_key").read_text() == secret


def json_lines(text: str) -> list[dict]:
    """Every line of `text` as a JSON object (fails on the first line that is not one)."""
    records = []
    for line in text.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line on stderr: {line!r}")
    return records


def test_serve_with_json_logs_writes_only_json_on_stderr(tmp_path):
    stderr = tmp_path / "stderr"
    with stderr.open("w") as sink:
        served = Served(serve_env(tmp_path / "data", UNSTRACT_LOG_FORMAT="json"), stderr=sink)
        try:
            assert served.get("/healthz")[0] == 200
            assert served.get("/no/such/page")[0] == 404
        finally:
            assert served.stop() == 0
    records = json_lines(stderr.read_text())
    loggers = {record["logger"] for record in records}
    assert "alembic.runtime.migration" in loggers  # the migrations speak JSON too
    assert any(record["message"].startswith("GET /healthz 200") for record in records)
    assert any(line.startswith("Listening on http://") for line in served.output())  # status stays on stdout


def test_serve_on_a_busy_port_exits_1_and_leaves_nothing_running(tmp_path):
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([*unstract_command(), "serve", "--workers", "1"], capture_output=True,
                                text=True, env=serve_env(data_dir, PORT=str(port)), timeout=60)
    assert result.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}: " in result.stderr
    assert "Listening" not in result.stdout
    assert not (data_dir / "redis.sock").exists()


def test_serve_with_an_invalid_integer_variable_exits_2_naming_it(tmp_path):
    env = serve_env(tmp_path / "data", UNSTRACT_WEB_THREADS="many")
    result = subprocess.run([*unstract_command(), "serve"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "UNSTRACT_WEB_THREADS" in result.stderr
    assert "Listening" not in result.stdout


def test_a_refused_start_with_json_logs_says_why_in_json(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([*unstract_command(), "serve", "--workers", "0"], capture_output=True, text=True,
                                env=serve_env(tmp_path / "data", PORT=str(port), UNSTRACT_LOG_FORMAT="json"),
                                timeout=60)
    assert result.returncode == 1
    refusal = json_lines(result.stderr)[-1]
    assert (refusal["level"], refusal["logger"]) == ("ERROR", "unstract.cli")
    assert refusal["message"].startswith(f"Cannot listen on 127.0.0.1:{port}: ")


SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
STUBBORN = [sys.executable, "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
            "time.sleep(120)"]


def test_worker_pool_restarts_a_worker_that_died():
    pool = WorkerPool(2, dict(os.environ), command=SLEEPER)
    pool.start()
    try:
        first, second = pool.pids()
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 10
        pids = pool.pids()
        while time.monotonic() < deadline and (first in pids or len(pids) < 2):
            pool.check()
            time.sleep(0.1)
            pids = pool.pids()
        assert len(pids) == 2 and second in pids and first not in pids
        assert all(pid_alive(pid) for pid in pids)
    finally:
        pool.stop(grace=5)
    assert not any(pid_alive(pid) for pid in pids)


def test_worker_pool_kills_a_worker_that_ignores_sigterm_after_the_grace_period():
    pool = WorkerPool(1, dict(os.environ), command=STUBBORN)
    pool.start()
    process = pool.slots[0].process
    time.sleep(1)  # let it install its SIGTERM handler
    started = time.monotonic()
    pool.stop(grace=1)
    assert 1 <= time.monotonic() - started < 10
    assert process.returncode == -signal.SIGKILL


def test_worker_pool_does_not_restart_workers_once_stopping():
    pool = WorkerPool(1, dict(os.environ), command=SLEEPER)
    pool.start()
    pool.stop(grace=5)
    pool.check()
    assert pool.slots[0].process.poll() is not None


def test_a_worker_slow_to_stop_without_a_job_is_named_while_serve_waits(app, capsys):
    pool = WorkerPool(1, dict(os.environ), command=STUBBORN)
    pool.start()
    process = pool.slots[0].process
    time.sleep(1)  # let it install its SIGTERM handler
    pool.stop(grace=2, report=partial(report_running_jobs, app))
    said = capsys.readouterr()
    assert re.search(rf"^Waiting up to \d+ s for worker {process.pid} to exit \(it runs no job\); it is killed after "
                     r"that\.$", said.out, re.M), said.out
    assert f"Worker {process.pid} did not stop within 2 s; killing it." in said.err
