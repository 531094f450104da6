"""Engine benchmark (issue 3, "Speed"): RQ's no-op ceiling and the engine, in one run on one Redis.

    .venv/bin/python -m bench.engine [--files 1000] [--big-files 10000] [--workers 1,2]
                                     [--database-url postgresql+psycopg://...] [--redis-url ...] [--json out.json]

See bench/README.md for what each figure means and docs/PERFORMANCE.md for the results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

import redis

from bench import common

NOOP_QUEUE = "bench-noop"
POLL_SECONDS = 0.05
FLAT_MEMORY_TOLERANCE = 0.10  # the big run's peak RSS may exceed the small run's by at most 10 %
OVERHEAD_TARGET = 3.0  # per-file overhead within 3x of an RQ no-op job


@dataclass
class NoopRun:
    workers: int
    jobs: int
    wall_s: float  # draining the queue, worker start-up (measured on an empty queue) subtracted
    startup_s: float

    @property
    def jobs_per_s(self) -> float:
        return self.jobs / self.wall_s

    @property
    def ms_per_job(self) -> float:
        """Worker time per job: wall x workers / jobs."""
        return 1000 * self.wall_s * self.workers / self.jobs


@dataclass
class EngineRun:
    files: int
    workers: int
    status: str
    completed: int
    wall_s: float  # execute call -> COMPLETED observed
    listing_s: float  # execution created -> first file claimed
    processing_s: float  # first file claimed -> last file ended
    in_job_ms: float  # mean FileExecution.execution_time (claim -> outcome recorded)
    log_lines_per_file: float
    idle_rss_mb: list[float]
    peak_rss_mb: list[float]
    tools_ms: float = 0.0

    @property
    def files_per_s(self) -> float:
        return self.files / self.wall_s

    @property
    def per_file_ms(self) -> float:
        """Worker time per file, end to end: wall x workers / files (listing included)."""
        return 1000 * self.wall_s * self.workers / self.files

    @property
    def job_ms(self) -> float:
        """Worker time per file in the processing phase only (listing excluded)."""
        return 1000 * self.processing_s * self.workers / self.files

    @property
    def overhead_ms(self) -> float:
        return self.per_file_ms - self.tools_ms


@dataclass
class LogCost:
    per_line_ms: float  # marginal cost of one more row in a transaction's multi-row INSERT
    solo_commit_ms: float  # one row in a transaction of its own (INSERT + COMMIT)


@dataclass
class Report:
    machine: dict
    database: str
    redis: str
    noop: list[NoopRun] = field(default_factory=list)
    tools_ms: float = 0.0
    engine: list[EngineRun] = field(default_factory=list)
    log_cost: LogCost | None = None


# --- RQ's ceiling --------------------------------------------------------------------------------

def _burst_wall(redis_url: str, workers: int, log_dir: Path) -> float:
    """Seconds from launching `workers` burst SimpleWorkers until all of them have exited."""
    with common.worker_pool() as pool:
        started = time.perf_counter()
        pool.start(common.rq_worker_argv(redis_url, NOOP_QUEUE), {}, log_dir, workers, f"rq-{workers}")
        pool.wait_exit(timeout=600)
        return time.perf_counter() - started


def _enqueue_noops(connection: redis.Redis, jobs: int) -> None:
    from rq import Queue

    queue = Queue(NOOP_QUEUE, connection=connection)
    for start in range(0, jobs, 1000):
        with connection.pipeline() as pipe:
            queue.enqueue_many([Queue.prepare_data("bench.noop", result_ttl=0, failure_ttl=86400)
                                for _ in range(start, min(start + 1000, jobs))], pipeline=pipe)
            pipe.execute()


def measure_noop(redis_url: str, workers: int, jobs: int, log_dir: Path) -> NoopRun:
    """Drain `jobs` no-op jobs with plain `rq worker` SimpleWorkers; start-up time taken out."""
    from rq import Queue

    connection = redis.Redis.from_url(redis_url)
    startup = min(_burst_wall(redis_url, workers, log_dir) for _ in range(2))
    _enqueue_noops(connection, jobs)
    wall = _burst_wall(redis_url, workers, log_dir)
    queue = Queue(NOOP_QUEUE, connection=connection)
    if queue.count or queue.failed_job_registry.count:
        raise RuntimeError(f"no-op run left {queue.count} queued, {queue.failed_job_registry.count} failed")
    return NoopRun(workers, jobs, round(wall - startup, 4), round(startup, 4))


# --- The engine ----------------------------------------------------------------------------------

def measure_tools(paths: list[Path], rounds: int = 3) -> float:
    """Milliseconds per file spent inside the two tools, in-process, best of `rounds` (reads excluded)."""
    from unstract.jsonschemas import fill_defaults, mime_type_for
    from unstract.tools.registry import TOOLS

    chain = [(TOOLS[t], fill_defaults(dict(s), TOOLS[t].settings_schema)) for t, s in common.TOOL_CHAIN]
    sources = [(p.read_bytes(), mime_type_for(p.name)) for p in paths]
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for source, mime in sources:
            previous = None
            for spec, settings in chain:
                previous = spec.run(source, mime, previous, settings).output
        best = min(best, time.perf_counter() - started)
    return 1000 * best / len(paths)


def _execute(app, world: common.BenchWorld, workflow_id: uuid.UUID) -> uuid.UUID:
    response = app.test_client().post(
        "/api/v1/unstract/bench/workflow/execute/", json={"workflow_id": str(workflow_id), "timeout": 0},
        headers={"Authorization": f"Bearer {world.token}"})
    if response.status_code != 202:
        raise RuntimeError(f"execute answered {response.status_code}: {response.get_data(as_text=True)}")
    return uuid.UUID(response.json["execution_id"])


def _wait_terminal(app, execution_id: uuid.UUID, timeout: float) -> str:
    from unstract.extensions import db
    from unstract.models import TERMINAL, Execution

    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            status = db.session.scalar(db.select(Execution.status).where(Execution.id == execution_id))
            db.session.rollback()
            if status in TERMINAL:
                return status
            time.sleep(POLL_SECONDS)
    raise RuntimeError(f"execution {execution_id} not finished within {timeout:.0f} s")


def _file_stats(app, execution_id: uuid.UUID) -> dict:
    """Phase boundaries and per-file means from the rows the engine wrote."""
    from sqlalchemy import func

    from unstract.extensions import db
    from unstract.models import Execution, ExecutionLog, FileExecution

    with app.app_context():
        execution = db.session.get(Execution, execution_id)
        first, last, mean_time, completed = db.session.execute(
            db.select(func.min(FileExecution.claimed_at), func.max(FileExecution.modified_at),
                      func.avg(FileExecution.execution_time),
                      func.count().filter(FileExecution.status == "COMPLETED"))
            .where(FileExecution.execution_id == execution_id)).one()
        file_logs = db.session.scalar(db.select(func.count()).select_from(ExecutionLog).where(
            ExecutionLog.execution_id == execution_id, ExecutionLog.file_execution_id.is_not(None)))
        return {"listing_s": (first - execution.created_at).total_seconds(),
                "processing_s": (last - first).total_seconds(), "in_job_ms": 1000 * (mean_time or 0),
                "completed": completed, "file_logs": file_logs}


def _mb(samples: list[dict[str, int]], key: str) -> list[float]:
    return [round(s.get(key, 0) / 1024, 1) for s in samples]


def measure_engine(app, env: dict, world: common.BenchWorld, folder: str, files: int, workers: int,
                   log_dir: Path, timeout: float, profile_dir: Path | None = None) -> EngineRun:
    """One execution over `folder` with `workers` fresh `unstract worker` processes (a new workflow,
    so file history never skips a file)."""
    tag = f"{folder}-w{workers}-{uuid.uuid4().hex[:6]}"
    with app.app_context():
        workflow_id = common.make_folder_workflow(world, f"bench {tag}", folder, f"out-{tag}", files).id
    with common.worker_pool() as pool:
        pool.start(common.unstract_worker_argv(), env, log_dir, workers, f"worker-{tag}")
        pool.wait_registered(env["REDIS_URL"], common.UNSTRACT_QUEUE, workers)
        idle = pool.memory_kb()
        with common.py_spy([p.pid for p in pool.processes], profile_dir, f"{files}x{workers}"):
            started = time.perf_counter()
            execution_id = _execute(app, world, workflow_id)
            status = _wait_terminal(app, execution_id, timeout)
            wall = time.perf_counter() - started
        peak = pool.memory_kb()
    stats = _file_stats(app, execution_id)
    return EngineRun(
        files=files, workers=workers, status=status, completed=stats["completed"], wall_s=round(wall, 3),
        listing_s=round(stats["listing_s"], 3), processing_s=round(stats["processing_s"], 3),
        in_job_ms=round(stats["in_job_ms"], 3), log_lines_per_file=round(stats["file_logs"] / files, 2),
        idle_rss_mb=_mb(idle, "VmRSS"), peak_rss_mb=_mb(peak, "VmHWM"))


def measure_log_cost(app, world: common.BenchWorld, workflow_id: uuid.UUID, rounds: int = 300) -> LogCost:
    """Log rows as the engine writes them (RunLog), timed against an equal transaction without them."""
    from sqlalchemy import delete, update

    from unstract.extensions import db
    from unstract.models import Execution, ExecutionLog, FileExecution
    from unstract.models.base import utcnow
    from unstract.services.runlog import RunLog

    with app.app_context():
        execution = Execution(id=uuid.uuid4(), workflow_id=workflow_id, organization_id=world.org_uuid,
                              status="COMPLETED")
        fe = FileExecution(id=uuid.uuid4(), execution_id=execution.id, file_number=1, file_name="x.txt",
                           file_hash="0" * 64, mime_type="text/plain")
        db.session.add_all([execution, fe])
        db.session.commit()
        log = RunLog(execution.id, "bench")

        def transaction(lines: int, with_update: bool = True) -> None:
            if with_update:
                db.session.execute(update(FileExecution).where(FileExecution.id == fe.id).values(modified_at=utcnow()))
            for n in range(lines):
                log.info("PROCESSING", f"File 'invoice-{n:05d}.txt' completed in 0.004 s.", file_execution_id=fe.id)
            log.commit()

        timings = {key: _timed(transaction, rounds, *args) for key, args in
                   (("base", (0,)), ("batch", (4,)), ("solo", (1, False)))}
        db.session.execute(delete(ExecutionLog).where(ExecutionLog.execution_id == execution.id))
        db.session.execute(delete(FileExecution).where(FileExecution.id == fe.id))
        db.session.execute(delete(Execution).where(Execution.id == execution.id))
        db.session.commit()
    return LogCost(round((timings["batch"] - timings["base"]) / 4, 4), round(timings["solo"], 4))


def _timed(function, rounds: int, *args) -> float:
    """Milliseconds per call, best of three batches of `rounds` calls."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(rounds):
            function(*args)
        best = min(best, time.perf_counter() - started)
    return 1000 * best / rounds


# --- The run and its report ----------------------------------------------------------------------

def machine_info() -> dict:
    memory_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal:"))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    return {"cpus": os.cpu_count(), "memory_gib": round(memory_kb / 1024 / 1024, 1), "cpu": cpu,
            "kernel": platform.release(), "python": platform.python_version()}


def run(args: argparse.Namespace) -> Report:
    with ExitStack() as stack:
        tmp = stack.enter_context(common.temp_dir())
        redis_url = stack.enter_context(common.redis_server(tmp / "redis", args.redis_url))
        database_url = stack.enter_context(common.database(tmp, args.database_url))
        env = common.base_env(tmp / "data", database_url, redis_url)
        app = common.build_app(env)
        stack.callback(lambda: _dispose(app))
        report = Report(machine_info(), database_url.split(":", 1)[0].split("+")[0],
                        "given" if args.redis_url else "embedded redis-server (unix socket)")
        logs = tmp / "logs"
        for workers in args.workers:
            _say(f"RQ no-op: {args.noop_jobs} jobs, {workers} worker(s)")
            report.noop.append(measure_noop(redis_url, workers, args.noop_jobs, logs))
        _run_engine(app, env, args, report, logs)
        return report


def _run_engine(app, env: dict, args: argparse.Namespace, report: Report, logs: Path) -> None:
    storage = Path(env["UNSTRACT_LOCAL_STORAGE_ROOTS"])
    with app.app_context():
        world = common.make_world(storage)
    small = common.write_invoices(storage / "small", args.files)
    report.tools_ms = round(measure_tools(small), 4)
    for workers in args.workers:
        _say(f"engine: {args.files} files, {workers} worker(s)")
        report.engine.append(measure_engine(app, env, world, "small", args.files, workers, logs, args.timeout,
                                            args.profile))
    if args.big_files:
        common.write_invoices(storage / "big", args.big_files)
        _say(f"engine: {args.big_files} files, {max(args.workers)} worker(s)")
        report.engine.append(measure_engine(app, env, world, "big", args.big_files, max(args.workers), logs,
                                            args.timeout))
    for engine_run in report.engine:
        engine_run.tools_ms = report.tools_ms
    with app.app_context():
        from unstract.extensions import db
        from unstract.models import Workflow

        workflow_id = db.session.scalars(db.select(Workflow.id)).first()
    report.log_cost = measure_log_cost(app, world, workflow_id)


def _dispose(app) -> None:
    from unstract.extensions import db

    with app.app_context():
        db.engine.dispose()


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def verdicts(report: Report) -> dict:
    """The two targets of issue 3, judged on the figures of this run."""
    noop = {n.workers: n.ms_per_job for n in report.noop}
    ratios = {f"{r.files}x{r.workers}": round(r.overhead_ms / noop[r.workers], 2)
              for r in report.engine if r.workers in noop}
    small = {r.workers: max(r.peak_rss_mb) for r in report.engine if r.files != max(e.files for e in report.engine)}
    big = [r for r in report.engine if r.files == max(e.files for e in report.engine)]
    growth = None
    if big and small and len({r.files for r in report.engine}) > 1:
        growth = round(max(big[0].peak_rss_mb) / small[big[0].workers] - 1, 3)
    return {"overhead_ratio": ratios, "overhead_ok": all(v <= OVERHEAD_TARGET for v in ratios.values()),
            "memory_growth": growth, "memory_ok": growth is not None and growth <= FLAT_MEMORY_TOLERANCE}


def format_report(report: Report) -> str:
    m = report.machine
    lines = [f"machine: {m['cpus']} CPU ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}, "
             f"Python {m['python']}; database {report.database}; redis {report.redis}", "",
             "RQ no-op ceiling (plain `rq worker`, SimpleWorker, burst)",
             f"{'workers':>7} {'jobs':>6} {'jobs/s':>8} {'ms/job':>7}"]
    lines += [f"{n.workers:>7} {n.jobs:>6} {n.jobs_per_s:>8.0f} {n.ms_per_job:>7.3f}" for n in report.noop]
    noop = {n.workers: n.ms_per_job for n in report.noop}
    lines += ["", f"engine: FILESYSTEM -> FILESYSTEM, text_extractor + field_extractor (tools: "
                  f"{report.tools_ms:.3f} ms/file in-process)",
              f"{'files':>6} {'wrk':>3} {'wall s':>7} {'files/s':>7} {'list s':>6} {'ms/file':>7} "
              f"{'job ms':>6} {'in-job':>6} {'ovh ms':>6} {'x noop':>6} {'logs/f':>6} {'idle MB':>9} {'peak MB':>11}"]
    for r in report.engine:
        ratio = r.overhead_ms / noop[r.workers] if r.workers in noop else float("nan")
        lines.append(f"{r.files:>6} {r.workers:>3} {r.wall_s:>7.2f} {r.files_per_s:>7.1f} {r.listing_s:>6.2f} "
                     f"{r.per_file_ms:>7.2f} {r.job_ms:>6.2f} {r.in_job_ms:>6.2f} {r.overhead_ms:>6.2f} "
                     f"{ratio:>6.1f} {r.log_lines_per_file:>6.1f} {'/'.join(map(str, r.idle_rss_mb)):>9} "
                     f"{'/'.join(map(str, r.peak_rss_mb)):>11}")
        if r.status != "COMPLETED" or r.completed != r.files:
            lines.append(f"       !! status {r.status}, {r.completed}/{r.files} files completed")
    if report.log_cost:
        lines += ["", f"log rows: {report.log_cost.per_line_ms:.4f} ms per extra row in a batched INSERT, "
                      f"{report.log_cost.solo_commit_ms:.3f} ms for a row in its own transaction"]
    v = verdicts(report)
    lines += ["", f"target overhead <= {OVERHEAD_TARGET:g}x no-op job: {'MET' if v['overhead_ok'] else 'NOT MET'} "
                  f"{v['overhead_ratio']}",
              f"target flat memory (big/small peak - 1 <= {FLAT_MEMORY_TOLERANCE:.0%}): "
              f"{'MET' if v['memory_ok'] else 'NOT MET'} (growth {v['memory_growth']})"]
    return "\n".join(lines)


def to_json(report: Report) -> dict:
    data = asdict(report)
    for key, rows in (("noop", report.noop), ("engine", report.engine)):
        for item, row in zip(data[key], rows, strict=True):
            item.update({name: round(getattr(row, name), 4) for name in dir(type(row))
                         if isinstance(getattr(type(row), name), property)})
    data["verdicts"] = verdicts(report)
    return data


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="small run: files per execution")
    parser.add_argument("--big-files", type=int, default=10000, help="memory run: files (0 skips it; max 10000)")
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    parser.add_argument("--noop-jobs", type=int, default=5000, help="no-op jobs per worker count")
    parser.add_argument("--database-url", help="PostgreSQL server URL; a throwaway bench_<random> db is used")
    parser.add_argument("--redis-url", help="Redis URL (its database is FLUSHED); default: bundled redis-server")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per execution")
    parser.add_argument("--profile", type=Path, help="py-spy the workers of the small runs into this directory")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.interrupt_on_sigterm()
    try:
        report = run(args)
    except KeyboardInterrupt:
        _say("interrupted; workers stopped and temporary data removed")
        return 130
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(to_json(report), indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
