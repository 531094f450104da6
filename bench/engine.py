"""Engine benchmark (issue 3, "Speed"): RQ's no-op ceiling and the engine, in one run on one Redis.

`.venv/bin/python -m bench.engine --help`; bench/README.md explains the figures, docs/PERFORMANCE.md has them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import common

FLAT_MEMORY_TOLERANCE = 0.10  # the big run's peak RSS may exceed the small run's by at most 10 %
OVERHEAD_TARGET = 3.0  # per-file overhead within 3x of an RQ no-op job
PROBE_FILES = 100  # files of the in-process run that counts SQL statements


@dataclass
class EngineRun:
    files: int
    workers: int
    status: str
    completed: int
    wall_s: float  # execute call -> COMPLETED seen
    listing_s: float  # execution created -> first file claimed
    processing_s: float  # first file claimed -> last file ended
    in_job_ms: float  # mean FileExecution.execution_time (claim -> outcome recorded)
    log_lines_per_file: float
    redis_cmds_per_file: float
    cpu_s: float  # user + system CPU of the workers and their children during the run
    memory: list[dict] = field(default_factory=list)  # per worker: idle rss, peak, tree_peak (MB)
    tools_ms: float = 0.0

    def derived(self) -> dict[str, float]:
        """The figures of the table: rates, worker time per file (wall x workers / files, end to end or
        processing phase only), overheads (minus the tools' own time), peaks over the workers."""
        per_file = 1000 * self.wall_s * self.workers / self.files
        return {"files_per_s": self.files / self.wall_s, "per_file_ms": per_file,
                "job_ms": 1000 * self.processing_s * self.workers / self.files, "overhead_ms": per_file - self.tools_ms,
                "cpu_overhead_ms": 1000 * self.cpu_s / self.files - self.tools_ms,
                "peak_mb": max(m["peak"] for m in self.memory),
                "tree_peak_mb": max(m["tree_peak"] for m in self.memory)}


@dataclass
class Report:
    machine: dict
    database: str
    redis: str
    noop: list[common.NoopRun] = field(default_factory=list)
    tools_ms: float = 0.0
    engine: list[EngineRun] = field(default_factory=list)
    statements: dict = field(default_factory=dict)  # per file, from an in-process run
    log_cost: dict = field(default_factory=dict)  # ms per log row, batched and alone


@dataclass
class Bench:
    """What every measurement needs: the app, its environment, the org, where logs go."""

    app: object
    env: dict
    world: common.BenchWorld
    logs: Path
    args: argparse.Namespace
    label: str = ""  # sqlite or postgresql


# --- The engine ----------------------------------------------------------------------------------

def measure_tools(paths: list[Path]) -> float:
    """Milliseconds per file inside the two tools, called in-process (file reads excluded)."""
    from unstract.jsonschemas import fill_defaults, mime_type_for
    from unstract.tools.registry import TOOLS

    chain = [(TOOLS[t], fill_defaults(dict(s), TOOLS[t].settings_schema)) for t, s in common.TOOL_CHAIN]
    sources = [(p.read_bytes(), mime_type_for(p.name)) for p in paths]

    def all_files() -> None:
        for source, mime in sources:
            previous = None
            for spec, settings in chain:
                previous = spec.run(source, mime, previous, settings).output
    return _timed(all_files, 1) / len(paths)


def _new_workflow(bench: Bench, folder: str, files: int) -> uuid.UUID:
    """A fresh workflow per run, so file history never skips a file; output to its own folder."""
    tag = uuid.uuid4().hex[:8]
    with bench.app.app_context():
        return common.make_folder_workflow(bench.world, f"bench {folder} {tag}", folder, f"out-{tag}", files).id


def _execute(bench: Bench, workflow_id: uuid.UUID) -> uuid.UUID:
    response = bench.app.test_client().post(
        "/api/v1/unstract/bench/workflow/execute/", json={"workflow_id": str(workflow_id), "timeout": 0},
        headers={"Authorization": f"Bearer {bench.world.token}"})
    if response.status_code != 202:
        raise RuntimeError(f"execute answered {response.status_code}: {response.get_data(as_text=True)}")
    return uuid.UUID(response.json["execution_id"])


def _file_stats(bench: Bench, execution_id: uuid.UUID) -> dict:
    """Phase boundaries and per-file means from the rows the engine wrote."""
    from sqlalchemy import func

    from unstract.extensions import db
    from unstract.models import Execution, ExecutionLog, FileExecution

    with bench.app.app_context():
        created = db.session.scalar(db.select(Execution.created_at).where(Execution.id == execution_id))
        first, last, mean_time, completed = db.session.execute(
            db.select(func.min(FileExecution.claimed_at), func.max(FileExecution.modified_at),
                      func.avg(FileExecution.execution_time),
                      func.count().filter(FileExecution.status == "COMPLETED"))
            .where(FileExecution.execution_id == execution_id)).one()
        file_logs = db.session.scalar(db.select(func.count()).select_from(ExecutionLog).where(
            ExecutionLog.execution_id == execution_id, ExecutionLog.file_execution_id.is_not(None)))
    return {"listing_s": round((first - created).total_seconds(), 3), "completed": completed,
            "processing_s": round((last - first).total_seconds(), 3), "in_job_ms": round(1000 * mean_time, 3),
            "file_logs": file_logs}


def measure_engine(bench: Bench, folder: str, files: int, workers: int) -> EngineRun:
    """One execution over `folder` with `workers` fresh `unstract worker` processes, timed from the
    execute call (workers already started and registered) until COMPLETED is seen."""
    workflow_id = _new_workflow(bench, folder, files)
    profile = bench.args.profile if files <= bench.args.files else None
    with closing(common.WorkerPool()) as pool:
        pool.start(common.UNSTRACT_WORKER_ARGV, bench.env, bench.logs, workers, f"worker-{folder}-{workers}")
        pool.wait_registered(bench.env["REDIS_URL"], common.UNSTRACT_QUEUE)
        idle = pool.memory_mb()
        pool.reset_peaks()
        commands, cpu = common.redis_commands(bench.env["REDIS_URL"]), pool.cpu_seconds()
        with common.py_spy([p.pid for p in pool.processes], profile, f"{bench.label}-{files}x{workers}"):
            started = time.perf_counter()
            execution_id = _execute(bench, workflow_id)
            status = common.wait_terminal(bench.app, execution_id, bench.args.timeout)
            wall = time.perf_counter() - started
        commands, cpu = common.redis_commands(bench.env["REDIS_URL"]) - commands, pool.cpu_seconds() - cpu
        memory = [{"idle": i["rss"], "peak": p["peak"], "tree_peak": p["tree_peak"]}
                  for i, p in zip(idle, pool.memory_mb(), strict=True)]
    stats = _file_stats(bench, execution_id)
    return EngineRun(files=files, workers=workers, status=status, completed=stats["completed"],
                     wall_s=round(wall, 3), listing_s=stats["listing_s"], processing_s=stats["processing_s"],
                     in_job_ms=stats["in_job_ms"], log_lines_per_file=round(stats["file_logs"] / files, 2),
                     redis_cmds_per_file=round(commands / files, 1), cpu_s=round(cpu, 3), memory=memory)


def measure_statements(bench: Bench, folder: str, files: int) -> tuple[dict, uuid.UUID]:
    """SQL statements and commits per file: one execution drained by an RQ worker in this process."""
    from sqlalchemy import event

    from unstract.extensions import db
    from unstract.worker.process import build_worker
    from unstract.worker.toolrunner import tool_runner

    execution_id = _execute(bench, _new_workflow(bench, folder, files))
    counts: Counter = Counter()
    handler = signal.getsignal(signal.SIGTERM)
    with bench.app.app_context():
        listeners = [("before_cursor_execute", lambda *a: counts.update(["statements"])),
                     ("commit", lambda *a: counts.update(["commits"]))]
        for name, listener in listeners:
            event.listen(db.engine, name, listener)
        try:
            build_worker(bench.app).work(burst=True, with_scheduler=False, logging_level="WARNING")
        finally:
            for name, listener in listeners:
                event.remove(db.engine, name, listener)
            tool_runner().close()
            signal.signal(signal.SIGTERM, handler)  # RQ installed its own
    if common.wait_terminal(bench.app, execution_id, bench.args.timeout) != "COMPLETED":
        raise RuntimeError("the statement-count run did not complete")
    return {"files": files, **{f"{k}_per_file": round(v / files, 2) for k, v in sorted(counts.items())}}, execution_id


def measure_log_cost(bench: Bench, execution_id: uuid.UUID, rounds: int = 300) -> dict:
    """Rows added to an execution's log as the engine adds them (RunLog), timed against an equal
    transaction without them; the rows are deleted afterwards."""
    from sqlalchemy import delete, func, update

    from unstract.extensions import db
    from unstract.models import Execution, ExecutionLog, FileExecution
    from unstract.services.runlog import RunLog

    with bench.app.app_context():
        fe_id = db.session.scalar(db.select(FileExecution.id).where(FileExecution.execution_id == execution_id))
        last_id = db.session.scalar(db.select(func.max(ExecutionLog.id)))
        log = RunLog(execution_id, "bench")

        def transaction(lines: int, with_update: bool = True) -> None:
            if with_update:
                db.session.execute(update(Execution).where(Execution.id == execution_id).values(timeout=0))
            for n in range(lines):
                log.info("PROCESSING", f"File 'invoice-{n:05d}.txt' completed in 0.004 s.", file_execution_id=fe_id)
            log.commit()

        ms = {key: _timed(transaction, rounds, *args) for key, args in
              (("base", (0,)), ("batch", (4,)), ("alone", (1, False)))}
        db.session.execute(delete(ExecutionLog).where(ExecutionLog.id > last_id))
        db.session.commit()
    return {"batched_row_ms": round((ms["batch"] - ms["base"]) / 4, 4), "alone_row_ms": round(ms["alone"], 4)}


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

def run(args: argparse.Namespace) -> Report:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="unstract-bench-",
                                                                   ignore_cleanup_errors=True)))
        redis_url = stack.enter_context(common.redis_server(tmp / "redis", args.redis_url))
        database_url = stack.enter_context(common.database(tmp, args.database_url))
        env = common.base_env(tmp / "data", database_url, redis_url)
        app = stack.enter_context(common.migrated_app(env))
        with app.app_context():
            world = common.make_world(Path(env["UNSTRACT_LOCAL_STORAGE_ROOTS"]))
        label = database_url.split(":")[0].split("+")[0]
        bench = Bench(app, env, world, tmp / "logs", args, label)
        report = Report(common.machine_info(), label, "given" if args.redis_url else "bundled redis-server")
        _measure_all(bench, report)
        report.machine["load_at_end"] = os.getloadavg()
        return report


def _measure_all(bench: Bench, report: Report) -> None:
    """Each worker count: RQ's no-op ceiling right before the engine, so both see the same machine."""
    args, storage = bench.args, Path(bench.env["UNSTRACT_LOCAL_STORAGE_ROOTS"])
    small = common.write_invoices(storage / "small", args.files)
    report.tools_ms = round(measure_tools(small), 4)
    for workers in args.workers:
        _say(f"RQ no-op: {args.noop_jobs} jobs, {workers} worker(s)")
        report.noop.append(common.measure_noop(bench.env["REDIS_URL"], workers, args.noop_jobs, bench.logs))
        _say(f"engine: {args.files} files, {workers} worker(s)")
        report.engine.append(measure_engine(bench, "small", args.files, workers))
    if args.big_files:
        common.write_invoices(storage / "big", args.big_files)
        _say(f"engine: {args.big_files} files, {max(args.workers)} worker(s)")
        report.engine.append(measure_engine(bench, "big", args.big_files, max(args.workers)))
    for engine_run in report.engine:
        engine_run.tools_ms = report.tools_ms
    _say(f"SQL statements per file ({PROBE_FILES} files, in-process worker); log row cost")
    common.write_invoices(storage / "probe", PROBE_FILES)
    report.statements, execution_id = measure_statements(bench, "probe", PROBE_FILES)
    report.log_cost = measure_log_cost(bench, execution_id)


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def verdicts(report: Report) -> dict:
    """The two targets of issue 3, judged on the figures of this run."""
    noop = {n.workers: n.derived() for n in report.noop}
    ratios = {key: {f"{r.files}x{r.workers}": round(r.derived()[f"{key}overhead_ms"] / noop[r.workers][base], 2)
                    for r in report.engine if r.workers in noop} for key, base in (("", "ms_per_job"),
                                                                                    ("cpu_", "cpu_ms_per_job"))}
    sizes, growth = sorted({r.files for r in report.engine}), {}
    big = next(r.derived() | {"workers": r.workers} for r in report.engine if r.files == sizes[-1])
    small = [r.derived() for r in report.engine if r.files == sizes[0] and r.workers == big["workers"]]
    if len(sizes) > 1 and small:
        growth = {name: round(big[f"{k}peak_mb"] / small[0][f"{k}peak_mb"] - 1, 3)
                  for name, k in (("worker", ""), ("worker+tools", "tree_"))}
    return {"overhead_ratio": ratios[""], "cpu_overhead_ratio": ratios["cpu_"],
            "overhead_ok": bool(ratios[""]) and max(ratios[""].values()) <= OVERHEAD_TARGET,
            "memory_growth": growth, "memory_ok": bool(growth) and max(growth.values()) <= FLAT_MEMORY_TOLERANCE}


def _table(headers: list[str], rows: list[list]) -> list[str]:
    """A Markdown table (pastes into docs/PERFORMANCE.md as it is)."""
    return ["| " + " | ".join(headers) + " |", "|" + "---:|" * len(headers),
            *("| " + " | ".join(map(str, row)) + " |" for row in rows)]


def format_report(report: Report) -> str:
    m, v = report.machine, verdicts(report)
    lines = [f"machine: {m['cpus']} CPU ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}, Python "
             f"{m['python']}, load {m['load_at_start'][0]:.1f} -> {m.get('load_at_end', [0])[0]:.1f}; "
             f"database {report.database}; redis {report.redis}", "", "RQ no-op ceiling (`rq worker`, SimpleWorker):"]
    lines += _table(["workers", "jobs", "jobs/s", "ms/job", "CPU ms/job", "redis cmds/job"], [
        [n.workers, n.jobs, *(f"{x:.2f}" for x in n.derived().values()), n.redis_cmds_per_job] for n in report.noop])
    lines += ["", f"engine, FILESYSTEM -> FILESYSTEM, text_extractor + field_extractor "
                  f"(tools alone: {report.tools_ms:.3f} ms/file):"]
    lines += _table(["files", "workers", "wall s", "listing s", "in-job ms", "redis cmds/file", "log rows/file",
                     "files/s", "ms/file", "job ms/file", "overhead ms", "CPU overhead ms", "peak MB",
                     "worker+tools MB", "x no-op", "x no-op CPU", "idle MB"], [
        [r.files, r.workers, r.wall_s, r.listing_s, r.in_job_ms, r.redis_cmds_per_file, r.log_lines_per_file,
         *(f"{x:.2f}" for x in r.derived().values()), *(v[k].get(f"{r.files}x{r.workers}", "-") for k in
                                                       ("overhead_ratio", "cpu_overhead_ratio")),
         max(x["idle"] for x in r.memory)] for r in report.engine])
    lines += [f"!! {r.files}x{r.workers}: {r.status}, {r.completed} of {r.files} files completed"
              for r in report.engine if r.status != "COMPLETED" or r.completed != r.files]
    s, c = report.statements, report.log_cost
    return "\n".join(lines + [
        "", f"per file (in-process run of {s.get('files')} files): {s.get('statements_per_file')} SQL statements, "
            f"{s.get('commits_per_file')} commits",
        f"log rows: {c.get('batched_row_ms')} ms per extra row in a batched INSERT, {c.get('alone_row_ms')} ms "
        "for a row in a transaction of its own", "",
        f"target per-file overhead <= {OVERHEAD_TARGET:g}x an RQ no-op job: {'MET' if v['overhead_ok'] else 'NOT MET'}"
        f" (wall {v['overhead_ratio']}, CPU {v['cpu_overhead_ratio']})",
        f"target flat memory (big-run peak within {FLAT_MEMORY_TOLERANCE:.0%} of the small run's): "
        + (f"{'MET' if v['memory_ok'] else 'NOT MET'} growth {v['memory_growth']}" if v["memory_growth"]
           else "not measured (no --big-files run)")])


def to_json(report: Report) -> dict:
    data = asdict(report) | {"verdicts": verdicts(report)}
    for key, rows in (("noop", report.noop), ("engine", report.engine)):
        for item, row in zip(data[key], rows, strict=True):
            item.update({k: round(x, 4) for k, x in row.derived().items()})
    return data


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="files of the throughput runs")
    parser.add_argument("--big-files", type=int, default=10000, help="files of the memory run (0 skips it)")
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2],
                        help="worker counts, comma-separated (the memory run uses the largest)")
    parser.add_argument("--noop-jobs", type=int, default=5000, help="no-op jobs per worker count")
    parser.add_argument("--database-url", help="a PostgreSQL server; the run uses a throwaway bench_<random> "
                                               "database on it, dropped afterwards (default: SQLite)")
    parser.add_argument("--redis-url", help="Redis to use; its database is FLUSHED (default: bundled server)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per execution")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--profile", type=Path, help="py-spy the workers of the throughput runs into DIR "
                                                     "(figures of a profiled run are slightly slower)")
    args = parser.parse_args(argv)
    if not 1 <= args.files <= 10000 or not 0 <= args.big_files <= 10000:
        parser.error("--files and --big-files must be at most 10000 (the source's maxFiles limit)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.interrupt_on_sigterm()
    try:
        report = run(args)
    except KeyboardInterrupt:
        _say("interrupted: workers stopped, temporary database and files removed")
        return 130
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(to_json(report), indent=2, default=str) + "\n")
    for path in sorted(args.profile.glob("*-[0-9].txt")) if args.profile else []:
        path.with_suffix(".tree.txt").write_text("\n".join(common.profile_tree(path, 0.005)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
