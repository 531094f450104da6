"""LLM extraction throughput (docs/PERFORMANCE.md, LLM extraction throughput): `python -m bench.llm --help`.

The LLM test server (tests/llm_server.py, a real loopback HTTP server standing in for an LLM service)
answers every chat request after a fixed latency L. For each L and each UNSTRACT_FILE_CONCURRENCY c: a
fresh workflow over `--files` one-page invoices (FILESYSTEM -> text_extractor + llm_extractor ->
FILESYSTEM), `--workers` fresh `unstract worker` processes started and registered before the clock
starts, a warm-up execution of 64 other files (tool processes start on first use), then the clock from
the execute call until COMPLETED is seen. Reported: wall time against the
ideal files x L / (workers x c), the server's peak of requests in flight, the worker time per file
beyond L, the mean in-job time per file beyond L, and the CPU time of the workers and their tool
processes per file (the part of the overhead a loaded machine does not inflate). Then the memory runs:
`--memory-files` sizes at one L and c, the workers' peak RSS (alone, and with their tool processes). The adapter's
max_concurrency is set above workers x c, so slots are never what limits a run.
Everything runs in a temporary directory with its own Redis; all is torn down at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import common
from tests.llm_server import LLMServer

WARM_UP_FILES = 64  # enough for every lane of 2 workers x 16 lanes to start its tool processes
RATIO_TARGET = 1.3  # wall time within 1.3x of the ideal
OVERHEAD_TARGET_MS = 20.0  # per-file time of the llm_extractor path beyond the LLM's latency
FIELDS = [{"name": "invoice_number", "prompt": "The invoice number", "type": "text", "required": True},
          {"name": "total", "prompt": "The total amount", "type": "number"}]


@dataclass
class Run:
    latency_s: float
    concurrency: int
    files: int
    workers: int
    status: str
    completed: int
    wall_s: float
    peak_in_flight: int
    in_job_ms: float  # mean claim -> outcome of a file
    cpu_ms_per_file: float  # CPU of the workers and their tool processes, per file (waiting costs none)
    memory: list[dict] = field(default_factory=list)

    @property
    def ideal_s(self) -> float:
        return self.files * self.latency_s / (self.workers * self.concurrency)

    def derived(self) -> dict:
        per_file_ms = 1000 * self.wall_s * self.workers * self.concurrency / self.files
        return {"ideal_s": round(self.ideal_s, 2), "ratio": round(self.wall_s / self.ideal_s, 3),
                "files_per_s": round(self.files / self.wall_s, 2),
                "lane_ms_per_file_beyond_L": round(per_file_ms - 1000 * self.latency_s, 1),
                "in_job_ms_beyond_L": round(self.in_job_ms - 1000 * self.latency_s, 1)}


def make_workflow(app, world: common.BenchWorld, adapter_id: uuid.UUID, folder: str, files: int) -> uuid.UUID:
    """FILESYSTEM `folder` -> its own output folder, text_extractor + llm_extractor."""
    from unstract import models as m
    from unstract.extensions import db
    from unstract.jsonschemas import fill_defaults
    from unstract.tools.registry import TOOLS

    with app.app_context():
        workflow = common.make_folder_workflow(world, f"llm {folder} {uuid.uuid4().hex[:8]}", folder,
                                               f"out-{uuid.uuid4().hex[:8]}", files)
        workflow = db.session.get(m.Workflow, workflow.id)
        for tool in list(workflow.tool_instances):
            workflow.tool_instances.remove(tool)
        db.session.flush()
        chain = [("text_extractor", {}), ("llm_extractor", {"adapter_id": str(adapter_id), "fields": FIELDS})]
        for step, (tool_id, settings) in enumerate(chain, start=1):
            metadata = fill_defaults(settings, TOOLS[tool_id].settings_schema)
            workflow.tool_instances.append(m.ToolInstance(tool_id=tool_id, step=step, metadata_=metadata))
        db.session.commit()
        return workflow.id


def make_adapter(app, world: common.BenchWorld, base_url: str, max_concurrency: int) -> uuid.UUID:
    from unstract.extensions import db
    from unstract.models import Adapter
    from unstract.services import secrets

    config = {"base_url": base_url, "model": "test-model", "timeout_seconds": 120, "max_retries": 0,
              "max_concurrency": max_concurrency, "input_cost_per_million": None,
              "output_cost_per_million": None, "supports_json_schema": True}
    with app.app_context():
        adapter = Adapter(organization_id=world.org_uuid, name=f"bench {uuid.uuid4().hex[:6]}", adapter_type="llm",
                          provider="openai", config=config,
                          sealed_api_key=secrets.seal_value("sk-bench-key", common.SECRET_KEY), api_key_last4="-key")
        db.session.add(adapter)
        db.session.commit()
        return adapter.id


def execute(app, world: common.BenchWorld, workflow_id: uuid.UUID) -> uuid.UUID:
    response = app.test_client().post(
        "/api/v1/unstract/bench/workflow/execute/", json={"workflow_id": str(workflow_id), "timeout": 0},
        headers={"Authorization": f"Bearer {world.token}"})
    if response.status_code != 202:
        raise RuntimeError(f"execute answered {response.status_code}: {response.get_data(as_text=True)}")
    return uuid.UUID(response.json["execution_id"])


def file_stats(app, execution_id: uuid.UUID) -> tuple[int, float]:
    from sqlalchemy import func

    from unstract.extensions import db
    from unstract.models import FileExecution

    with app.app_context():
        completed, mean_time = db.session.execute(
            db.select(func.count().filter(FileExecution.status == "COMPLETED"), func.avg(FileExecution.execution_time))
            .where(FileExecution.execution_id == execution_id)).one()
    return completed, 1000 * float(mean_time or 0)


def measure(args, stack_env: dict, app, world, server: LLMServer, adapter_id: uuid.UUID, folder: str,
            files: int, latency: float, concurrency: int, logs: Path) -> Run:
    workflow_id = make_workflow(app, world, adapter_id, folder, files)
    warm_up_id = make_workflow(app, world, adapter_id, "warm", WARM_UP_FILES)
    env = {**stack_env, "UNSTRACT_FILE_CONCURRENCY": str(concurrency)}
    with closing(common.WorkerPool()) as pool:
        pool.start(common.UNSTRACT_WORKER_ARGV, env, logs, args.workers, f"worker-{folder}-{latency}-{concurrency}")
        pool.wait_registered(env["REDIS_URL"], common.UNSTRACT_QUEUE)
        # Tool processes start, and import the SDK, on their first call: a short run first, so the
        # timed one measures the steady state (the cold start is reported by the warm-up's own time).
        warm_started = time.perf_counter()
        common.wait_terminal(app, execute(app, world, warm_up_id), args.timeout)
        say(f"warm-up ({WARM_UP_FILES} files): {time.perf_counter() - warm_started:.1f} s")
        pool.reset_peaks()
        server.reset()
        cpu = pool.cpu_seconds()
        started = time.perf_counter()
        execution_id = execute(app, world, workflow_id)
        status = common.wait_terminal(app, execution_id, args.timeout)
        wall = time.perf_counter() - started
        cpu = pool.cpu_seconds() - cpu
        memory = [{"peak": m["peak"], "tree_peak": m["tree_peak"]} for m in pool.memory_mb()]
    completed, in_job_ms = file_stats(app, execution_id)
    return Run(latency, concurrency, files, args.workers, status, completed, round(wall, 3),
               server.stats()["peak_in_flight"], round(in_job_ms, 1), round(1000 * cpu / files, 1), memory)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> dict:
    report: dict = {"machine": common.machine_info(), "args": vars(args), "curve": [], "memory": []}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="unstract-llm-", ignore_cleanup_errors=True)))
        redis_url = stack.enter_context(common.redis_server(tmp / "redis", args.redis_url))
        database_url = stack.enter_context(common.database(tmp, args.database_url))
        env = common.base_env(tmp / "data", database_url, redis_url)
        app = stack.enter_context(common.migrated_app(env))
        storage = Path(env["UNSTRACT_LOCAL_STORAGE_ROOTS"])
        with app.app_context():
            world = common.make_world(storage)
        common.write_invoices(storage / "curve", args.files)
        common.write_invoices(storage / "warm", WARM_UP_FILES)
        limit = min(256, args.workers * max(args.concurrency + [args.memory_concurrency]))
        for latency in args.latencies:
            server = stack.enter_context(closing(_Server(latency)))
            adapter_id = make_adapter(app, world, server.base_url, limit)
            for concurrency in args.concurrency:
                say(f"L={latency} s, concurrency {concurrency}: {args.files} files, {args.workers} workers")
                result = measure(args, env, app, world, server, adapter_id, "curve", args.files, latency,
                                 concurrency, tmp / "logs")
                report["curve"].append({**asdict(result), **result.derived()})
                say(json.dumps(report["curve"][-1]))
        server = stack.enter_context(closing(_Server(args.memory_latency)))
        adapter_id = make_adapter(app, world, server.base_url, limit)
        for files in args.memory_files:
            common.write_invoices(storage / f"mem-{files}", files)
            say(f"memory: {files} files, L={args.memory_latency} s, concurrency {args.memory_concurrency}")
            result = measure(args, env, app, world, server, adapter_id, f"mem-{files}", files, args.memory_latency,
                             args.memory_concurrency, tmp / "logs")
            report["memory"].append({**asdict(result), **result.derived()})
            say(json.dumps(report["memory"][-1]))
    report["machine"]["load_at_end"] = os.getloadavg()
    return report


class _Server(LLMServer):
    def close(self) -> None:
        self.stop()


def format_report(report: dict) -> str:
    lines = ["| L s | concurrency | wall s | ideal s | ratio | files/s | peak in flight | lane ms/file beyond L "
             "| in-job ms beyond L | CPU ms/file |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report["curve"]:
        lines.append(f"| {r['latency_s']} | {r['concurrency']} | {r['wall_s']} | {r['ideal_s']} | {r['ratio']} "
                     f"| {r['files_per_s']} | {r['peak_in_flight']} | {r['lane_ms_per_file_beyond_L']} "
                     f"| {r['in_job_ms_beyond_L']} | {r['cpu_ms_per_file']} |")
    lines += ["", "| files | wall s | ratio | CPU ms/file | worker peak MB | worker+tools peak MB |",
              "|---:|---:|---:|---:|---:|---:|"]
    for r in report["memory"]:
        peaks = " / ".join(str(m["peak"]) for m in r["memory"])
        trees = " / ".join(str(m["tree_peak"]) for m in r["memory"])
        lines.append(f"| {r['files']} | {r['wall_s']} | {r['ratio']} | {r['cpu_ms_per_file']} | {peaks} | {trees} |")
    return "\n".join(lines)


def _numbers(kind):
    return lambda text: [kind(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.llm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latencies", type=_numbers(float), default=[0.5, 2.0])
    parser.add_argument("--concurrency", type=_numbers(int), default=[1, 4, 8, 16])
    parser.add_argument("--memory-files", type=_numbers(int), default=[100, 2000])
    parser.add_argument("--memory-latency", type=float, default=0.5)
    parser.add_argument("--memory-concurrency", type=int, default=8)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server (default: SQLite)")
    parser.add_argument("--redis-url", default=None, help="a Redis database to use (flushed); default: bundled")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per execution")
    parser.add_argument("--json", default=None, help="write every figure to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.interrupt_on_sigterm()
    report = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    print(format_report(report))
    print(json.dumps(report["machine"], default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
