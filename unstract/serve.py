"""`unstract serve`: migrate and bootstrap, then run embedded Redis, N RQ workers and waitress."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from flask import Flask
from waitress import create_server

from unstract.config import Settings
from unstract.embedded_redis import EmbeddedRedis
from unstract.lifeline import STOP_GRACE_SECONDS
from unstract.logcontext import tell_operator
from unstract.memory import tune_malloc_for_web
from unstract.metrics import prepare_multiprocess_dir

WORKER_COMMAND = [sys.executable, "-m", "unstract.cli", "worker"]
WORKER_GRACE_SECONDS = STOP_GRACE_SECONDS
WAIT_NOTICE_SECONDS = 1.0  # an idle worker is gone by then; one still running is named
SUPERVISE_INTERVAL_SECONDS = 1.0
QUICK_DEATH_SECONDS = 10
MAX_RESTART_DELAY_SECONDS = 30
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # SIGHUP: its terminal was closed


def prepare(app: Flask) -> None:
    """Data directory, migrations and the first-start bootstrap; prints a generated password once."""
    from flask_migrate import upgrade

    from unstract.services.bootstrap import bootstrap

    settings: Settings = app.config["UNSTRACT_SETTINGS"]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        upgrade()
        result = bootstrap(settings, secret_key=app.config["SECRET_KEY"])
    if result is not None and result.generated_password:
        print(f"Admin password for {result.admin_email}: {result.generated_password}", flush=True)


class StartupError(RuntimeError):
    """`serve` cannot start (the address is taken, say); nothing was left running."""


def serve(app: Flask, workers: int) -> None:
    """Run until SIGINT/SIGTERM, then stop the web server, the workers and Redis, in that order."""
    settings: Settings = app.config["UNSTRACT_SETTINGS"]
    prepare_multiprocess_dir(settings.data_dir)  # before any metric exists here or in the workers
    prepare(app)
    tune_malloc_for_web()  # before waitress starts its threads (unstract.memory)
    server = bind(app, settings)
    redis_server = None if settings.redis_url else EmbeddedRedis(settings.data_dir)
    pool = WorkerPool(workers, worker_env(settings, redis_server))
    previous = {signum: signal.signal(signum, _interrupt) for signum in STOP_SIGNALS if not _nohup(signum)}
    try:
        if redis_server is not None:
            redis_server.start()
        pool.start()
        run_http(server, settings, pool)
    except KeyboardInterrupt:
        pass
    finally:
        _ignore_stop_signals()
        print("Stopping: the web server, then the workers, then Redis.", flush=True)
        server.close()
        pool.stop(report=partial(report_running_jobs, app))
        if redis_server is not None:
            redis_server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        print("Stopped.", flush=True)


def bind(app: Flask, settings: Settings):
    """The waitress server, listening already, so a busy address fails before anything is started."""
    try:
        return create_server(app, host=settings.host, port=settings.port, threads=settings.web_threads)
    except OSError as exc:
        reason = exc.strerror or exc
        raise StartupError(f"Cannot listen on {settings.host}:{settings.port}: {reason}.") from None


def worker_env(settings: Settings, redis_server: EmbeddedRedis | None) -> dict[str, str]:
    """The workers see the same configuration, with the embedded Redis named explicitly."""
    env = {**os.environ, "UNSTRACT_DATA_DIR": str(settings.data_dir)}
    if redis_server is not None:
        env["REDIS_URL"] = redis_server.url
    return env


def run_http(server, settings: Settings, pool: WorkerPool) -> None:
    """Serve until a stop signal ends waitress's loop; the worker supervisor runs beside it."""
    stop = threading.Event()
    supervisor = threading.Thread(target=pool.supervise, args=(stop,), name="worker-supervisor", daemon=True)
    supervisor.start()
    port = getattr(server, "effective_port", settings.port)
    print(f"Listening on http://{settings.host}:{port}", flush=True)
    try:
        server.run()  # waitress returns (after finishing its tasks) on KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    finally:
        _ignore_stop_signals()
        stop.set()
        supervisor.join()


def _interrupt(_signum, _frame) -> None:
    """SIGTERM behaves like Ctrl-C: it ends waitress's loop, then the `finally` blocks clean up."""
    raise KeyboardInterrupt


def _nohup(signum: int) -> bool:
    """Started under `nohup`: a closed terminal must not stop serve then."""
    return signum == signal.SIGHUP and signal.getsignal(signum) == signal.SIG_IGN


def _ignore_stop_signals() -> None:
    """Once shutting down, a second signal must not cut the cleanup short (it is bounded anyway)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


@dataclass
class _Slot:
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    restart_at: float = 0.0


class WorkerPool:
    """N `unstract worker` children; one that exits on its own is started again, with a back-off."""

    def __init__(self, count: int, env: dict[str, str], command: list[str] | None = None):
        self.env = env
        # --parent-pid: a worker stops by itself when `serve` dies without stopping it (kill -9).
        self.command = command or [*WORKER_COMMAND, "--parent-pid", str(os.getpid())]
        self.slots = [_Slot() for _ in range(count)]
        self._lock = threading.Lock()
        self._stopping = False

    def start(self) -> None:
        with self._lock:
            for slot in self.slots:
                self._spawn(slot)

    def supervise(self, stop: threading.Event) -> None:
        while not stop.wait(SUPERVISE_INTERVAL_SECONDS):
            self.check()

    def check(self) -> None:
        """Notice workers that died and restart those whose back-off has passed."""
        with self._lock:
            now = time.monotonic()
            for slot in self.slots if not self._stopping else []:
                if slot.process is not None and slot.process.poll() is not None:
                    self._note_death(slot, now)
                if slot.process is None and now >= slot.restart_at:
                    self._spawn(slot)

    def stop(self, grace: float = WORKER_GRACE_SECONDS,
             report: Callable[[list[int], float], None] | None = None) -> None:
        """SIGTERM (RQ's warm shutdown lets the running job finish), SIGKILL after `grace` seconds.

        Idle workers exit within about a second; `report` is told which are still running after that.
        """
        with self._lock:
            self._stopping = True
            running = [s.process for s in self.slots if s.process is not None and s.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        _wait_all(running, time.monotonic() + min(WAIT_NOTICE_SECONDS, grace))
        busy = [process.pid for process in running if process.poll() is None]
        if busy and report is not None:
            report(busy, deadline - time.monotonic())
        _wait_all(running, deadline)
        for process in running:
            if process.poll() is None:
                tell_operator(f"Worker {process.pid} did not stop within {grace:.0f} s; killing it.", __name__)
            _kill_group(process)

    def pids(self) -> list[int]:
        with self._lock:
            return [s.process.pid for s in self.slots if s.process is not None]

    def _spawn(self, slot: _Slot) -> None:
        # Own session: the terminal's Ctrl-C reaches only `serve`, which then stops workers in order.
        slot.process = subprocess.Popen(self.command, env=self.env, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        slot.started_at = time.monotonic()

    @staticmethod
    def _note_death(slot: _Slot, now: float) -> None:
        lived = now - slot.started_at
        slot.quick_deaths = slot.quick_deaths + 1 if lived < QUICK_DEATH_SECONDS else 0
        delay = min(MAX_RESTART_DELAY_SECONDS, 2 ** slot.quick_deaths - 1)
        tell_operator(f"Worker {slot.process.pid} exited with code {slot.process.returncode}; "
                      f"restarting in {delay} s.", __name__)
        slot.process = None
        slot.restart_at = now + delay


def _wait_all(processes: list[subprocess.Popen], deadline: float) -> None:
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass


def report_running_jobs(app: Flask, pids: list[int], seconds_left: float) -> None:
    """Say what the stop waits for: each worker still running, with its job (and execution) when it runs one."""
    from unstract.services.queueing import running_jobs

    try:
        with app.app_context():
            jobs = running_jobs(pids)
    except Exception:  # noqa: BLE001 - naming the jobs (a database look-up too) must never hold up the stop
        jobs = None
    for pid in pids:
        job = None if jobs is None else jobs.get(pid)
        if job is not None:
            doing = f"to finish job {job.job_id} (execution {job.execution_id})"
        elif jobs is None:
            doing = "to stop"
        else:
            doing = "to exit (it runs no job)"  # idle but slow, on a busy machine: still say why nothing happens
        print(f"Waiting up to {seconds_left:.0f} s for worker {pid} {doing}; it is killed after that.", flush=True)


def _kill_group(process: subprocess.Popen) -> None:
    """Kill the worker and any work horse it forked (they share the worker's process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
