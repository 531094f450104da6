"""Database faults during a folder run (docs/RELIABILITY.md, Transient faults): `python -m bench.faults --help`.

A throwaway PostgreSQL database for the app and one for the destination, Redis, and 2 `unstract worker`s
whose connections to both databases go through loopback TCP proxies (tests/engine/tcp_proxy.py). One
execution of `--files` invoices, FILESYSTEM -> DATABASE table. When `--restart-at` of the files are done,
the app database's proxy is cut for `--restart-seconds` (a PostgreSQL restart as the workers see it:
connections closed, new ones refused); when `--outage-at` are done, the destination's proxy is cut for
`--outage-seconds`. Reported: wall time, the longest time without a finished file after each fault, file
statuses and attempts, destination rows, the retry and recovery lines of the execution log, RQ's failed jobs.
Everything is torn down at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, closing
from pathlib import Path

from bench import common
from tests.engine.tcp_proxy import TcpProxy

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
POLL_SECONDS = 0.1


def proxied(url: str, proxy: TcpProxy) -> str:
    from sqlalchemy import make_url

    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


def make_workflow(world: common.BenchWorld, files: int, destination_url: str) -> uuid.UUID:
    """The bench folder workflow with its destination switched to table `invoices` of `destination_url`."""
    from sqlalchemy import make_url

    from unstract.extensions import db
    from unstract.jsonschemas import DESTINATION_DATABASE, fill_defaults
    from unstract.models import Connector
    from unstract.services.secrets import seal_metadata

    url = make_url(destination_url)
    metadata = {"host": url.host, "port": url.port, "database": url.database, "user": url.username,
                "password": url.password or ""}
    connector = Connector(organization_id=world.org_uuid, connector_name="Destination", connector_id="postgresql",
                          connector_metadata=seal_metadata("postgresql", metadata, common.SECRET_KEY),
                          connector_mode="DATABASE")
    db.session.add(connector)
    workflow = common.make_folder_workflow(world, "faults", "in", "out", files)
    destination = workflow.endpoint("DESTINATION")
    destination.connection_type, destination.connector_instance_id = "DATABASE", connector.id
    destination.configuration = fill_defaults({"table": "invoices"}, DESTINATION_DATABASE)
    db.session.commit()
    return workflow.id


class Progress:
    """Finished files over time, read from the database (directly, not through the proxies)."""

    def __init__(self, app, execution_id: uuid.UUID) -> None:
        self.app, self.execution_id = app, execution_id
        self.done, self.changes = 0, [(time.monotonic(), 0)]

    def poll(self) -> bool:
        """Read the counters once; True when the execution is terminal."""
        from unstract.extensions import db
        from unstract.models import TERMINAL, Execution

        with self.app.app_context():
            row = db.session.execute(db.select(Execution.status, Execution.successful_files, Execution.failed_files)
                                     .where(Execution.id == self.execution_id)).one()
            db.session.remove()
        done = row.successful_files + row.failed_files
        if done != self.done:
            self.done = done
            self.changes.append((time.monotonic(), done))
        return row.status in TERMINAL

    def longest_gap(self, start: float, end: float) -> float:
        """The longest time without a finished file between `start` and `end` (a fault and the next one)."""
        times = [start] + [t for t, _ in self.changes if start < t < end] + [min(end, self.changes[-1][0])]
        return max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)


def run(args: argparse.Namespace, app, execution_id: uuid.UUID, app_proxy: TcpProxy,
        destination_proxy: TcpProxy) -> dict:
    progress, faults, started = Progress(app, execution_id), {}, time.monotonic()
    plan = sorted([(args.restart_at, "restart", app_proxy, args.restart_seconds),
                   (args.outage_at, "destination_outage", destination_proxy, args.outage_seconds)])
    while not progress.poll():
        if plan and progress.done >= plan[0][0] * args.files:
            _, name, proxy, seconds = plan.pop(0)
            faults[name] = time.monotonic()
            proxy.cut()
            threading.Timer(seconds, proxy.restore).start()
        if time.monotonic() - started > args.timeout:
            raise RuntimeError(f"execution {execution_id} not finished within {args.timeout:.0f} s")
        time.sleep(POLL_SECONDS)
    wall = time.monotonic() - started
    moments = sorted(faults.items(), key=lambda item: item[1]) + [("end", float("inf"))]
    gaps = {name: round(progress.longest_gap(at, moments[n + 1][1]), 1) for n, (name, at) in enumerate(moments[:-1])}
    return {"wall_seconds": round(wall, 1), "files_per_second": round(args.files / wall, 1),
            "longest_gap_without_a_finished_file_after_seconds": gaps}


def outcome(app, execution_id: uuid.UUID, destination_url: str) -> dict:
    from rq.registry import FailedJobRegistry
    from sqlalchemy import create_engine, func, select, text

    from unstract.extensions import db, rq
    from unstract.models import Execution, ExecutionLog, FileExecution

    with app.app_context():
        execution = db.session.get(Execution, execution_id)
        statuses = dict(db.session.execute(select(FileExecution.status, func.count()).where(
            FileExecution.execution_id == execution_id).group_by(FileExecution.status)).all())
        attempts = dict(db.session.execute(select(FileExecution.attempts, func.count()).where(
            FileExecution.execution_id == execution_id).group_by(FileExecution.attempts)).all())
        lines = [row.data["log"] for row in db.session.scalars(select(ExecutionLog).where(
            ExecutionLog.execution_id == execution_id, ExecutionLog.level == "WARN"))]
        failed_jobs = FailedJobRegistry(queue=rq.queue()).count
        result = {"execution_status": execution.status, "files_by_status": statuses,
                  "files_by_attempts": attempts, "rq_failed_jobs": failed_jobs,
                  "retry_lines": sum(line.startswith("Retrying after a transient") for line in lines),
                  "recovered_lines": sum(line.startswith(("Recovered:", "Worker lost")) for line in lines),
                  "sample_lines": sorted(set(line[:160] for line in lines))[:6]}
        db.session.remove()
    engine = create_engine(destination_url)
    with engine.connect() as conn:
        rows, distinct = conn.execute(text(
            'SELECT count(*), count(DISTINCT "file_execution_id") FROM "invoices"')).one()
    engine.dispose()
    return {**result, "destination_rows": rows, "destination_distinct_file_executions": distinct}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--restart-at", type=float, default=0.25, help="share of files done before the restart")
    parser.add_argument("--restart-seconds", type=float, default=0.4)
    parser.add_argument("--outage-at", type=float, default=0.5, help="share of files done before the outage")
    parser.add_argument("--outage-seconds", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--redis-url", default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    common.interrupt_on_sigterm()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="unstract-faults-")))
        database_url = stack.enter_context(common.server_database(args.admin_url, "faults"))
        destination_url = stack.enter_context(common.server_database(args.admin_url, "faults_dest"))
        redis_url = stack.enter_context(common.redis_server(tmp / "redis", args.redis_url))
        env = common.base_env(tmp / "data", database_url, redis_url)
        app = stack.enter_context(common.migrated_app(env))
        from sqlalchemy import make_url

        server = make_url(database_url)
        app_proxy = stack.enter_context(closing(TcpProxy(server.host, server.port or 5432).start()))
        destination_proxy = stack.enter_context(closing(TcpProxy(server.host, server.port or 5432).start()))
        storage = Path(env["UNSTRACT_LOCAL_STORAGE_ROOTS"])
        common.write_invoices(storage / "in", args.files)
        with app.app_context():
            world = common.make_world(storage)
            workflow_id = make_workflow(world, args.files, proxied(destination_url, destination_proxy))
        pool = stack.enter_context(closing(common.WorkerPool()))
        pool.start(common.UNSTRACT_WORKER_ARGV, {**env, "DATABASE_URL": proxied(database_url, app_proxy)},
                   tmp / "logs", args.workers, "worker")
        pool.wait_registered(redis_url, common.UNSTRACT_QUEUE)
        response = app.test_client().post(
            "/api/v1/unstract/bench/workflow/execute/", json={"workflow_id": str(workflow_id), "timeout": 0},
            headers={"Authorization": f"Bearer {world.token}"})
        execution_id = uuid.UUID(response.json["execution_id"])
        timing = run(args, app, execution_id, app_proxy, destination_proxy)
        report = {"args": vars(args), **timing, **outcome(app, execution_id, destination_url),
                  "machine": common.machine_info()}
        print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
