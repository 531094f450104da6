"""The sync floor: how long a one-file synchronous execute takes end to end, and what 50 waiting requests
cost Redis and the database (docs/PERFORMANCE.md, "The sync floor").

`.venv/bin/python -m bench.sync_wait --help`; bench/README.md shows the commands.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

import redis
import requests

from bench import common

SERVE_SCRIPT = Path(__file__).with_name("sync_serve.py")
INVOICE = b"ACME Corp\nInvoice Number: INV-1001\nTotal: $1,250.50\n"


@dataclass
class Figures:
    label: str
    code: str
    wakeups: bool
    poll_seconds: int
    database: str
    requests: int
    median_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    statuses: dict = field(default_factory=dict)
    waiters: int = 0
    window_s: float = 0.0
    redis_cmds_per_s: float = 0.0  # while the waiters wait, workers paused, idle baseline subtracted
    sql_per_s: float = 0.0  # statements the web process sends meanwhile, idle baseline subtracted
    idle_redis_cmds_per_s: float = 0.0
    idle_sql_per_s: float = 0.0
    pending_in_window: int = 0  # executions created (so their requests wait) when the window starts
    answered_after_resume_s: float = 0.0  # workers resumed -> last of the waiters answered
    waiter_statuses: dict = field(default_factory=dict)
    load: list = field(default_factory=list)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=common.PROJECT_ROOT,
                        help="tree whose `unstract` package the service runs (default: this checkout)")
    parser.add_argument("--label", default="", help="name of this run in the report")
    parser.add_argument("--wakeups", choices=("on", "off"), default="on", help="UNSTRACT_SYNC_WAKEUPS")
    parser.add_argument("--poll-seconds", type=int, default=2, help="UNSTRACT_SYNC_POLL_SECONDS")
    parser.add_argument("--requests", type=int, default=100, help="sequential one-file sync executes")
    parser.add_argument("--waiters", type=int, default=50, help="sync executes waiting at once")
    parser.add_argument("--window", type=float, default=10.0, help="seconds the load is measured over")
    parser.add_argument("--database-url", help="a PostgreSQL server (a throwaway database is made there)")
    parser.add_argument("--redis-url", help="a Redis database (flushed); default: a private redis-server")
    parser.add_argument("--json", type=Path, help="write the figures here")
    return parser.parse_args(argv)


def make_api_workflow(world: common.BenchWorld):
    """API source -> API destination, text_extractor + field_extractor: the answer carries the result."""
    import copy

    from unstract import models as m
    from unstract.extensions import db
    from unstract.jsonschemas import SOURCE_API, fill_defaults
    from unstract.tools.registry import TOOLS

    user = world.user_id
    workflow = m.Workflow(organization_id=world.org_uuid, workflow_name=f"sync {uuid.uuid4().hex[:6]}",
                          workflow_owner=user, created_by=user, modified_by=user)
    workflow.memberships.append(m.WorkflowMembership(user_id=user, role=m.WorkflowRole.OWNER))
    workflow.endpoints.append(m.WorkflowEndpoint(endpoint_type="SOURCE", connection_type="API",
                                                 configuration=fill_defaults({}, SOURCE_API)))
    workflow.endpoints.append(m.WorkflowEndpoint(endpoint_type="DESTINATION", connection_type="API",
                                                 configuration={}))
    for step, (tool_id, settings) in enumerate(common.TOOL_CHAIN, start=1):
        metadata = fill_defaults(copy.deepcopy(settings), TOOLS[tool_id].settings_schema)
        workflow.tool_instances.append(m.ToolInstance(tool_id=tool_id, step=step, metadata_=metadata))
    db.session.add(workflow)
    db.session.commit()
    return workflow.id


class Service:
    """The service process (bench/sync_serve.py: `unstract serve` counting its SQL statements)."""

    def __init__(self, env: dict, code: Path, tmp: Path):
        self.port = free_port()
        self.statements_file = tmp / "statements"
        full = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(self.port), "PYTHONPATH": str(code),
                "BENCH_STATEMENTS_FILE": str(self.statements_file)}
        full.pop("WERKZEUG_RUN_MAIN", None)
        self.log = open(tmp / "service.log", "wb")
        self.process = subprocess.Popen([sys.executable, str(SERVE_SCRIPT)], env=full, cwd=code,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, redis_url: str, workers: int) -> None:
        from rq import Worker

        deadline = time.monotonic() + 120
        connection = redis.Redis.from_url(redis_url)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited; see {self.log.name}")
            with suppress(requests.RequestException):
                if requests.get(f"{self.base}/healthz", timeout=2).status_code == 200 \
                        and len(Worker.all(connection=connection)) >= workers:
                    return
            time.sleep(0.2)
        raise RuntimeError("the service did not become ready")

    def statements(self) -> int:
        return int(self.statements_file.read_text() or 0)

    def worker_pids(self) -> list[int]:
        return [pid for pid in common.descendants(self.process.pid)
                if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes()]

    def signal_workers(self, sig: int) -> None:
        for pid in self.worker_pids():
            with suppress(ProcessLookupError):
                os.kill(pid, sig)

    def close(self) -> None:
        self.signal_workers(signal.SIGCONT)
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def execute(session: requests.Session, base: str, token: str, workflow_id, timeout: int) -> tuple[float, int, str]:
    """One one-file sync execute: (seconds, HTTP status, execution_status)."""
    started = time.perf_counter()
    response = session.post(f"{base}/api/v1/unstract/bench/workflow/execute/",
                            headers={"Authorization": f"Bearer {token}"},
                            data={"workflow_id": str(workflow_id), "timeout": str(timeout)},
                            files=[("files", ("invoice.txt", INVOICE, "text/plain"))], timeout=timeout + 30)
    elapsed = time.perf_counter() - started
    body = response.json()
    return elapsed, response.status_code, body.get("execution_status", body.get("errors", [{}])[0].get("code"))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure_latency(figures: Figures, service: Service, token: str, workflow_id) -> None:
    session = requests.Session()
    for _ in range(5):  # warm-up: connections, imports, the listener
        execute(session, service.base, token, workflow_id, 60)
    times, statuses = [], {}
    for _ in range(figures.requests):
        elapsed, code, status = execute(session, service.base, token, workflow_id, 60)
        times.append(elapsed * 1000)
        statuses[f"{code} {status}"] = statuses.get(f"{code} {status}", 0) + 1
    figures.median_ms = round(statistics.median(times), 1)
    figures.p99_ms = round(percentile(times, 0.99), 1)
    figures.max_ms = round(max(times), 1)
    figures.statuses = statuses


def rates(service: Service, redis_url: str, seconds: float) -> tuple[float, float]:
    """Redis commands/s and web-process SQL statements/s over `seconds`."""
    redis_before, sql_before = common.redis_commands(redis_url), service.statements()
    time.sleep(seconds)
    redis_after, sql_after = common.redis_commands(redis_url), service.statements()
    return (redis_after - redis_before - 1) / seconds, (sql_after - sql_before) / seconds  # - 1: our own INFO


def pending_executions(app) -> int:
    from unstract.extensions import db
    from unstract.models import Execution, Status

    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Execution)
                                 .where(Execution.status == Status.PENDING))


def measure_waiting_load(figures: Figures, service: Service, redis_url: str, token: str, workflow_id,
                         app) -> None:
    """Pause the workers (SIGSTOP), start the waiters, measure, resume, wait for every answer."""
    service.signal_workers(signal.SIGSTOP)
    idle = rates(service, redis_url, figures.window_s)
    figures.idle_redis_cmds_per_s, figures.idle_sql_per_s = round(idle[0], 2), round(idle[1], 2)
    answers: list = []
    timeout = int(figures.window_s * 2 + 60)

    def one() -> None:
        answers.append(execute(requests.Session(), service.base, token, workflow_id, timeout))

    threads = [threading.Thread(target=one) for _ in range(figures.waiters)]
    for thread in threads:
        thread.start()
    time.sleep(3.0)  # every request has created its execution and is waiting
    figures.pending_in_window = pending_executions(app)
    loaded = rates(service, redis_url, figures.window_s)
    figures.redis_cmds_per_s = round(loaded[0] - idle[0], 2)
    figures.sql_per_s = round(loaded[1] - idle[1], 2)
    resumed = time.perf_counter()
    service.signal_workers(signal.SIGCONT)
    for thread in threads:
        thread.join()
    figures.answered_after_resume_s = round(time.perf_counter() - resumed, 2)
    for _, code, status in answers:
        figures.waiter_statuses[f"{code} {status}"] = figures.waiter_statuses.get(f"{code} {status}", 0) + 1


def run(args: argparse.Namespace) -> Figures:
    common.interrupt_on_sigterm()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-sync-")))
        redis_url = stack.enter_context(common.redis_server(tmp / "redis", args.redis_url))
        database_url = stack.enter_context(common.database(tmp, args.database_url))
        env = {**common.base_env(tmp / "data", database_url, redis_url), "UNSTRACT_WORKERS": "2",
               "UNSTRACT_WEB_THREADS": str(args.waiters + 16), "UNSTRACT_MAX_PENDING_EXECUTIONS": "1000",
               "UNSTRACT_SYNC_WAKEUPS": "true" if args.wakeups == "on" else "false",
               "UNSTRACT_SYNC_POLL_SECONDS": str(args.poll_seconds)}
        app = stack.enter_context(common.migrated_app(env))
        with app.app_context():
            world = common.make_world(tmp / "data" / "storage")
            workflow_id = make_api_workflow(world)
        figures = Figures(args.label or f"wakeups {args.wakeups}", str(args.code), args.wakeups == "on",
                          args.poll_seconds, database_url.split(":")[0], args.requests, waiters=args.waiters,
                          window_s=args.window)
        service = Service(env, args.code.resolve(), tmp)
        stack.callback(service.close)
        service.wait_ready(redis_url, 2)
        figures.load.append(os.getloadavg())
        measure_latency(figures, service, world.token, workflow_id)
        measure_waiting_load(figures, service, redis_url, world.token, workflow_id, app)
        figures.load.append(os.getloadavg())
        return figures


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    figures = run(args)
    print(json.dumps(asdict(figures), indent=2))
    if args.json:
        args.json.write_text(json.dumps(asdict(figures), indent=2))


if __name__ == "__main__":
    main()
