"""Load (issue 5): N client threads against gunicorn + PostgreSQL + 2 `unstract worker`s:
`python -m bench.load --help`.

Each client loops for `--duration` seconds over a weighted mix of list workflows, retrieve a workflow,
execute (timeout 0; JSON on a FILESYSTEM folder workflow with use_file_history false, multipart on an
API-source workflow) and a logs tail (GET logs with after=) of a recent execution. Executions are paced
globally (`--executes-per-s`) so that the workers can keep up; when an execute is not due, the client
does another call. Afterwards it waits (bounded) until every execution started is terminal.
Loopback only; everything (server, workers, Redis, the throwaway database) is torn down even on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager, suppress
from pathlib import Path

import requests

from bench import common

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
WEIGHTS = {"list": 30, "retrieve": 25, "logs_tail": 30, "execute_json": 8, "execute_multipart": 7}
TERMINAL = {"COMPLETED", "ERROR", "STOPPED"}


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str], log_dir: Path) -> Iterator[int]:
    """gunicorn 'wsgi:app' with 2 processes x 4 threads on a free loopback port; killed (group) on exit."""
    port = free_port()
    argv = [str(common.VENV_BIN / "gunicorn"), "wsgi:app", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "4"]
    with open(log_dir / "gunicorn.log", "ab") as log:
        process = subprocess.Popen(argv, env={**os.environ, **env}, cwd=common.PROJECT_ROOT, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            with suppress(requests.RequestException):
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code < 500:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start; see gunicorn.log")
            time.sleep(0.2)
        yield port
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
                break


def make_api_workflow(world: common.BenchWorld):
    """API source -> API destination, with the field extractor (small multipart uploads)."""
    from unstract import models as m
    from unstract.extensions import db
    from unstract.jsonschemas import SOURCE_API, fill_defaults
    from unstract.tools.registry import TOOLS

    user = world.user_id
    workflow = m.Workflow(organization_id=world.org_uuid, workflow_name="load api", workflow_owner=user,
                          created_by=user, modified_by=user)
    workflow.memberships.append(m.WorkflowMembership(user_id=user, role=m.WorkflowRole.OWNER))
    workflow.endpoints.append(m.WorkflowEndpoint(endpoint_type="SOURCE", connection_type="API",
                                                 configuration=fill_defaults({}, SOURCE_API)))
    workflow.endpoints.append(m.WorkflowEndpoint(endpoint_type="DESTINATION", connection_type="API",
                                                 configuration={}))
    tool_id, settings = common.TOOL_CHAIN[1]
    metadata = fill_defaults(json.loads(json.dumps(settings)), TOOLS[tool_id].settings_schema)
    workflow.tool_instances.append(m.ToolInstance(tool_id=tool_id, step=1, metadata_=metadata))
    db.session.add(workflow)
    db.session.commit()
    return workflow


class Load:
    """Shared state of the client threads: timings per endpoint, errors, executions started."""

    def __init__(self, port: int, token: str, folder_wf: str, api_wf: str, executes_per_s: float):
        self.base = f"http://127.0.0.1:{port}/api/v1/unstract/bench/"
        self.token, self.folder_wf, self.api_wf = token, folder_wf, api_wf
        self.interval, self.next_execute = 1 / executes_per_s, time.monotonic()
        self.lock = threading.Lock()
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []
        self.executions: list[str] = []
        self.cursors: dict[str, int] = {}
        self.uploads = 0

    def execute_due(self) -> bool:
        with self.lock:
            now = time.monotonic()
            if now < self.next_execute:
                return False
            self.next_execute = max(self.next_execute + self.interval, now - self.interval)
            return True

    def pick(self, rng: random.Random) -> str:
        kind = rng.choices(list(WEIGHTS), list(WEIGHTS.values()))[0]
        if kind.startswith("execute") and not self.execute_due():
            return rng.choice(["list", "retrieve", "logs_tail"])
        if kind == "logs_tail" and not self.executions:
            return "list"
        return kind

    def call(self, session: requests.Session, kind: str, rng: random.Random) -> None:
        """One request of `kind`, timed and recorded."""
        method, path, kwargs, execution = self.request_of(kind, rng)
        started = time.perf_counter()
        try:
            response = session.request(method, self.base + path, timeout=30, **kwargs)
            status, body = response.status_code, response.text
        except requests.RequestException as exc:
            status, body = 0, repr(exc)
        elapsed = time.perf_counter() - started
        self.record(kind, status, body, elapsed, execution)

    def request_of(self, kind: str, rng: random.Random) -> tuple[str, str, dict, str | None]:
        if kind == "list":
            return "GET", "workflow/", {}, None
        if kind == "retrieve":
            return "GET", f"workflow/{rng.choice([self.folder_wf, self.api_wf])}/", {}, None
        if kind == "execute_json":
            return "POST", "workflow/execute/", {"json": {
                "workflow_id": self.folder_wf, "timeout": 0, "use_file_history": False}}, None
        if kind == "execute_multipart":
            with self.lock:
                self.uploads += 1
                n = self.uploads
            files = [("files", (f"inv-{n}-{k}.txt", f"Invoice Number: INV-{n}-{k}\nTotal: ${n}.{k}0\n".encode(),
                                "text/plain")) for k in range(2)]
            return "POST", "workflow/execute/", {"data": {"workflow_id": self.api_wf, "timeout": "0"},
                                                 "files": files}, None
        with self.lock:
            execution = rng.choice(self.executions[-10:])
            after = self.cursors.get(execution, 0)
        return "GET", f"workflow/execution/{execution}/logs/", {"params": {"after": after, "page_size": 100}}, \
            execution

    def record(self, kind: str, status: int, body: str, elapsed: float, execution: str | None) -> None:
        with self.lock:
            self.timings[kind].append(elapsed)
            if not 200 <= status < 300:
                self.errors[kind] += 1
                if len(self.samples) < 20:
                    self.samples.append(f"{kind} -> {status}: {body[:500]}")
                return
            data = json.loads(body) if body else {}
            if kind.startswith("execute"):
                self.executions.append(data["execution_id"])
            elif kind == "logs_tail" and data.get("results"):
                self.cursors[execution] = max(row["id"] for row in data["results"])

    def client(self, seed: int, stop: threading.Event) -> None:
        rng = random.Random(seed)
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {self.token}"
            while not stop.is_set():
                self.call(session, self.pick(rng), rng)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def run_clients(load: Load, clients: int, duration: float) -> float:
    """`clients` threads for `duration` seconds; returns the wall time."""
    stop = threading.Event()
    threads = [threading.Thread(target=load.client, args=(n, stop), daemon=True) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        stop.wait(duration)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=35)
    return time.monotonic() - started


def drain(app, execution_ids: list[str], timeout: float) -> tuple[dict[str, int], float]:
    """Wait until every execution is terminal (at most `timeout` s): status counts and seconds waited."""
    import uuid

    from sqlalchemy import select

    from unstract.extensions import db
    from unstract.models import Execution

    ids = [uuid.UUID(e) for e in execution_ids]
    started = time.monotonic()
    with app.app_context():
        while True:
            rows = db.session.scalars(select(Execution.status).where(Execution.id.in_(ids))) if ids else []
            statuses = [str(getattr(s, "value", s)) for s in rows]
            db.session.rollback()
            if all(s in TERMINAL for s in statuses) or time.monotonic() - started > timeout:
                break
            time.sleep(1)
    counts: dict[str, int] = defaultdict(int)
    for status in statuses:
        counts[status] += 1
    counts["missing"] = len(ids) - len(statuses)
    return dict(counts), round(time.monotonic() - started, 1)


def file_outcome(app, execution_ids: list[str]) -> dict:
    """Status counts of those executions' file executions, sizes, skipped files (docs/EXECUTION.md, Reservations)."""
    import uuid

    from sqlalchemy import func, select

    from unstract.extensions import db
    from unstract.models import Execution, ExecutionLog, FileExecution

    ids = [uuid.UUID(e) for e in execution_ids]
    with app.app_context():
        rows = db.session.execute(select(FileExecution.status, func.count()).where(
            FileExecution.execution_id.in_(ids)).group_by(FileExecution.status)).all() if ids else []
        counts = {str(getattr(status, "value", status)): n for status, n in rows}
        sizes = db.session.execute(select(Execution.total_files, func.count()).where(
            Execution.id.in_(ids)).group_by(Execution.total_files)).all() if ids else []
        skipped = db.session.scalar(select(func.count()).select_from(ExecutionLog).where(
            ExecutionLog.execution_id.in_(ids), ExecutionLog.data["log"].as_string().like(
                "%it is being processed by execution%"))) if ids else 0
    return {**counts, "executions_by_total_files": {str(k): n for k, n in sorted(sizes, key=str)},
            "skipped_held_by_another_execution": skipped}


def report(load: Load, wall: float, outcome: dict[str, int], waited: float, files: dict[str, int], args) -> dict:
    rows = {kind: {"count": len(times), "errors": load.errors.get(kind, 0),
                   "p50_ms": round(1000 * percentile(times, 0.5), 1),
                   "p99_ms": round(1000 * percentile(times, 0.99), 1)} for kind, times in sorted(load.timings.items())}
    total = sum(r["count"] for r in rows.values())
    return {"clients": args.clients, "duration_s": round(wall, 1), "requests": total,
            "requests_per_s": round(total / wall, 1), "errors": sum(load.errors.values()), "endpoints": rows,
            "executions_started": len(load.executions), "executions_outcome": outcome, "drain_wait_s": waited,
            "file_executions": files,
            "non_terminal": sum(v for k, v in outcome.items() if k not in TERMINAL),
            "error_samples": load.samples, "machine": common.machine_info()}


def markdown(result: dict) -> str:
    lines = ["| endpoint | count | errors | p50 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {k} | {r['count']} | {r['errors']} | {r['p50_ms']} | {r['p99_ms']} |"
              for k, r in result["endpoints"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, choices=range(1, 65), metavar="1..64")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (at most 600)")
    parser.add_argument("--executes-per-s", type=float, default=0.5, help="global pace of execute calls")
    parser.add_argument("--files", type=int, default=20, help="files in the folder workflow's folder")
    parser.add_argument("--drain", type=float, default=120.0, help="seconds to wait for executions to end")
    parser.add_argument("--redis-url", help="an existing Redis (flushed); default: the bundled redis-server")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL server to create load_<random> on")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    args.duration = min(max(args.duration, 1.0), 600.0)
    common.interrupt_on_sigterm()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="unstract-load-")))
        database_url = stack.enter_context(common.server_database(args.admin_url, "load"))
        redis_url = stack.enter_context(common.redis_server(tmp / "redis", args.redis_url))
        env = common.base_env(tmp / "data", database_url, redis_url)
        app = stack.enter_context(common.migrated_app(env))
        storage = Path(env["UNSTRACT_LOCAL_STORAGE_ROOTS"])
        common.write_invoices(storage / "in", args.files)
        with app.app_context():
            world = common.make_world(storage)
            folder_wf = str(common.make_folder_workflow(world, "load folder", "in", "out", args.files).id)
            api_wf = str(make_api_workflow(world).id)
        pool = stack.enter_context(closing(common.WorkerPool()))
        pool.start(common.UNSTRACT_WORKER_ARGV, env, tmp / "logs", 2, "worker")
        pool.wait_registered(redis_url, common.UNSTRACT_QUEUE)
        port = stack.enter_context(gunicorn(env, tmp / "logs"))
        load = Load(port, world.token, folder_wf, api_wf, args.executes_per_s)
        wall = run_clients(load, args.clients, args.duration)
        outcome, waited = drain(app, load.executions, args.drain)
        result = report(load, wall, outcome, waited, file_outcome(app, load.executions), args)
        if result["errors"] or result["non_terminal"]:
            for name in sorted((tmp / "logs").glob("*.log")):
                print(f"--- {name.name} (tail)\n{name.read_text(errors='replace')[-3000:]}", file=sys.stderr)
    print(json.dumps(result, indent=2))
    print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted; the server, workers, Redis and the load_ database were removed", file=sys.stderr)
        sys.exit(130)
