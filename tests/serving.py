"""A real `unstract serve` process tree for the serve tests, and /proc readers to inspect what it runs."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import redis

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

    def __init__(self, env: dict[str, str], workers: int = 1, **popen_options):
        self.process = subprocess.Popen([*unstract_command(), "serve", "--workers", str(workers)], env=env,
                                        stdout=subprocess.PIPE, text=True,
                                        **{"stderr": subprocess.DEVNULL, **popen_options})
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

    def output(self) -> list[str]:
        """Every stdout line so far (after `stop`, all of them)."""
        while True:
            try:
                line = self._queue.get(timeout=5 if self.process.poll() is not None else 0)
            except queue.Empty:
                return self.lines
            if line is None:
                self._queue.put(None)
                return self.lines
            self.lines.append(line)

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


