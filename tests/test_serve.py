"""`unstract serve` as a real process tree: waitress, the embedded Redis, workers and their supervision."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from unstract.serve import WorkerPool

pytestmark = pytest.mark.slow

START_TIMEOUT = 60
STOP_TIMEOUT = 40


def unstract_command() -> list[str]:
    script = Path(sys.executable).with_name("unstract")
    return [str(script)] if script.exists() else [sys.executable, "-m", "unstract.cli"]


def serve_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any service configuration: embedded SQLite and Redis."""
    dropped = ("REDIS_URL", "DATABASE_URL", "TEST_DATABASE_URL", "SECRET_KEY", "HOST", "PORT")
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("UNSTRACT_")}
    return {**env, "UNSTRACT_DATA_DIR": str(data_dir), "HOST": "127.0.0.1", "PORT": "0", **extra}


class Served:
    """A running `unstract serve` whose stdout lines are collected by a reader thread."""

    def __init__(self, env: dict[str, str], workers: int = 1):
        self.process = subprocess.Popen([*unstract_command(), "serve", "--workers", str(workers)], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.base_url = self._wait_listening()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def _wait_listening(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if match := re.fullmatch(r"Listening on (http://127\.0\.0\.1:\d+)", line):
                return match.group(1)
        self.process.kill()
        pytest.fail(f"serve did not start; output: {self.lines}")

    def get(self, path: str, **kwargs) -> tuple[int, bytes]:
        return self.request(path, **kwargs)

    def request(self, path: str, *, key: str | None = None, body: dict | None = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=90) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def redis_at(data_dir: Path) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(data_dir / "redis.sock"), socket_timeout=5)


def listening_tcp_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    return inodes


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def children_of(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live children of `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and cmdline:
            found.append((int(entry.name), cmdline))
    return found


def wait_for_worker_child(pid: int, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child, cmdline in children_of(pid):
            if "unstract.cli worker" in cmdline:
                return child
        time.sleep(0.05)
    pytest.fail("no worker process was started")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


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
        workflows = json.loads(served.get(base, key=key)[1])["results"]
        assert [w["workflow_name"] for w in workflows] == ["Demo workflow"]
        status, body = served.request(base + "execute/", key=key,
                                      body={"workflow_id": workflows[0]["id"], "timeout": 60})
        run = json.loads(body)
        assert (status, run["execution_status"], run["error"]) == (200, "COMPLETED", None)
        execution = json.loads(served.get(f"{base}execution/{run['execution_id']}/", key=key)[1])
    finally:
        assert served.stop() == 0
    samples = sorted(p.name for p in (data_dir / "storage" / "demo" / "samples").iterdir())
    assert execution["total_files"] == len(samples) == 3
    output = data_dir / "storage" / "demo" / "output" / "samples"
    assert sorted(p.name for p in output.iterdir()) == [f"{name}.json" for name in samples]
    assert json.loads((output / "invoice-1001.pdf.json").read_text()) == {
        "invoice_number": "INV-1001", "total": 1250.5}


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
