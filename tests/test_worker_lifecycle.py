"""A real `unstract worker` stopping: on a signal while idle, with its parent, and through Redis outages."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import redis
from rq import Worker

from tests.engine.workers import start_worker, worker_env, worker_logs
from tests.serving import children_of, pid_alive, unstract_command
from tests.support import start_embedded_redis

pytestmark = pytest.mark.slow

STOP_TIMEOUT = 20  # well under serve's 30 s grace: a worker that needed the grace would fail here
READY_TIMEOUT = 60


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def _registered(url: str, pid: int) -> bool:
    try:
        return any(w.pid == pid for w in Worker.all(connection=redis.Redis.from_url(url)))
    except redis.RedisError:
        return False


def _scheduler_of(pid: int) -> int:
    """RQ's scheduler: the worker's forked child (the worker holds the lock on its own Redis db)."""
    return _wait_for(lambda: next((child for child, _ in children_of(pid)), None), READY_TIMEOUT,
                     "the worker started its scheduler process")


def _stopped(process: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> int | None:
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


@pytest.fixture
def env(base_env, redis_url):
    return worker_env(base_env, UNSTRACT_REAP_INTERVAL_SECONDS=3600)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_idle_worker_stops_promptly_on_a_stop_signal(env, redis_url, tmp_path, signum):
    process = start_worker(env, tmp_path, "worker-0")
    try:
        _wait_for(lambda: _registered(redis_url, process.pid), READY_TIMEOUT, "the worker registered")
        scheduler = _scheduler_of(process.pid)
        process.send_signal(signum)
        assert _stopped(process) == 0, worker_logs(tmp_path)
        assert not pid_alive(scheduler)
        assert not _registered(redis_url, process.pid)
    finally:
        _kill_group(process)


def test_the_scheduler_process_dies_with_a_sigkilled_worker(env, redis_url, tmp_path):
    process = start_worker(env, tmp_path, "worker-0")
    try:
        scheduler = _scheduler_of(process.pid)
        os.kill(process.pid, signal.SIGKILL)  # the worker alone, not its process group
        process.wait(timeout=10)
        _wait_for(lambda: not pid_alive(scheduler), STOP_TIMEOUT, "the scheduler followed its worker")
    finally:
        _kill_group(process)


def test_a_worker_given_its_parent_pid_stops_when_that_parent_is_killed(env, tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen(sys.argv[1:] + ['worker', '--parent-pid', str(os.getpid())],"
        " start_new_session=True)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(300)\n"), *unstract_command()], env=env, stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    try:
        scheduler = _scheduler_of(worker)
        parent.kill()
        parent.wait()
        _wait_for(lambda: not pid_alive(worker) and not pid_alive(scheduler), STOP_TIMEOUT,
                  "the worker and its scheduler followed their parent")
    finally:
        parent.kill()
        try:
            os.killpg(worker, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _clients(url: str) -> list[str]:
    """The last command of every client of the server but this one."""
    client = redis.Redis.from_url(url)
    own = str(client.client_id())
    return sorted(c["cmd"] for c in client.client_list() if str(c["id"]) != own)


def test_redis_outages_leak_no_connection_and_each_reconnect_starts_with_the_short_delay(env, tmp_path):
    redis_dir = tmp_path / "redis"
    server, url = start_embedded_redis(redis_dir)
    process = start_worker({**env, "REDIS_URL": url}, tmp_path, "worker-0")
    try:
        _wait_for(lambda: _registered(url, process.pid), READY_TIMEOUT, "the worker registered")
        _scheduler_of(process.pid)
        baseline = _wait_for(lambda: len(_clients(url)) == 3 and _clients(url), READY_TIMEOUT,
                             "worker, pub/sub and scheduler connected")
        for _ in range(2):
            server.terminate()
            server.wait(timeout=10)
            time.sleep(2)  # the worker notices the outage and retries at least once
            server, _ = start_embedded_redis(redis_dir)  # the same socket, so the same url
            _wait_for(lambda: _registered(url, process.pid) and len(_clients(url)) >= len(baseline),
                      READY_TIMEOUT, "the worker is back, registered, with its scheduler")
            time.sleep(3)  # a leaked pub/sub connection would have reconnected by now (RQ retries every 2 s)
            assert _clients(url).count("subscribe") == 1 and len(_clients(url)) == len(baseline)
        # Within an outage the pause doubles (1, 2, 4 s …); after a reconnect it starts again at 1 s.
        log = (tmp_path / "worker-0.log").read_text()
        delays = [int(n) for n in re.findall(r"starting a new worker loop in (\d+) s", log)]
        assert delays[:1] == [1] and delays.count(1) == 2, log
    finally:
        _kill_group(process)
        server.terminate()
        server.wait(timeout=10)


def test_a_stop_during_the_database_check_is_not_lost(make_app, tmp_path):
    """A stop signal that lands while the health check queries an unreachable database raises StopRequested
    there, which the check swallows: the worker must still see the stop and take no job."""
    from unstract.worker.context import shutdown_requested
    from unstract.worker.process import build_worker

    worker = build_worker(make_app(DATABASE_URL=f"sqlite:///{tmp_path}/missing-dir/db.sqlite"))
    shutdown_requested.set()
    try:
        started = time.monotonic()
        assert worker.wait_for_database() is False
        assert time.monotonic() - started < 1
    finally:
        shutdown_requested.clear()


def test_an_idle_worker_that_missed_the_stop_exception_still_leaves_its_wait(make_app):
    """RQ's handler sets our flag, then raises; when that exception is lost, the wait for a job ends anyway."""
    from unstract.worker.context import shutdown_requested
    from unstract.worker.process import DEQUEUE_WAIT_SECONDS, build_worker

    worker = build_worker(make_app())
    assert worker.dequeue_timeout == DEQUEUE_WAIT_SECONDS < worker.connection_timeout
    shutdown_requested.set()
    try:
        started = time.monotonic()
        assert worker.dequeue_job_and_maintain_ttl(DEQUEUE_WAIT_SECONDS) is None
        assert time.monotonic() - started < 1
    finally:
        shutdown_requested.clear()
