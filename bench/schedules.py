"""Schedules under load (docs/PERFORMANCE.md, Schedules): `python -m bench.schedules --help`.

1. Burst: `--schedules` schedules (default 1,000) of one workflow, all due in the same minute, and
   `--workers` real `unstract worker` processes (default 4) with the default scheduler tick. Reported:
   runs and executions per due time (each must be exactly 1), and how late the executions were created
   after the due time (p50, p95, max).
2. Idle tick: `--idle-schedules` schedules in all (default 10,000), none due; one scheduler pass
   (services.scheduler.run_due) timed in this process, with the statements it sends and, on PostgreSQL,
   the scans their plans use.
A throwaway database on `--admin-url`'s server (or SQLite with `--sqlite`) and its own Redis; everything
is torn down at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack, closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import common

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
LEAD_SECONDS = 20  # the schedules are written, and the workers ready, this long before the due minute


def add_schedules(world: common.BenchWorld, workflow_id: uuid.UUID, count: int, cron: str,
                  next_run_at: datetime) -> None:
    from sqlalchemy import insert

    from unstract.extensions import db
    from unstract.models import Schedule
    from unstract.models.base import utcnow

    now = utcnow()
    rows = [{"id": uuid.uuid4(), "organization_id": world.org_uuid, "workflow_id": workflow_id, "cron": cron,
             "timezone": "UTC", "is_active": True, "description": "", "allow_overlap": False,
             "next_run_at": next_run_at, "created_by": world.user_id, "created_at": now, "modified_at": now}
            for _ in range(count)]
    for start in range(0, count, 1000):
        db.session.execute(insert(Schedule), rows[start:start + 1000])
    db.session.commit()


def next_minute(lead: float) -> datetime:
    moment = datetime.now(UTC) + timedelta(seconds=lead)
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


def burst(app, args, world, workflow_id) -> dict:
    from sqlalchemy import func, select

    from unstract.extensions import db
    from unstract.models import Execution, ScheduleRun

    due = next_minute(LEAD_SECONDS)
    with app.app_context():
        add_schedules(world, workflow_id, args.schedules, f"{due.minute} {due.hour} * * *", due)
    deadline = time.monotonic() + args.timeout
    while True:
        with app.app_context():
            settled = db.session.scalar(select(func.count()).select_from(ScheduleRun)
                                        .where(ScheduleRun.status != "CLAIMED"))
            db.session.remove()
        if settled >= args.schedules or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    with app.app_context():
        runs = db.session.execute(select(ScheduleRun.schedule_id, ScheduleRun.due_at, ScheduleRun.status,
                                         ScheduleRun.execution_id)).all()
        created = [row.created_at for row in db.session.execute(select(Execution.id, Execution.created_at))]
        db.session.remove()
    lags = sorted((moment - due).total_seconds() for moment in created)
    per_due = {}
    for run in runs:
        per_due[(run.schedule_id, run.due_at)] = per_due.get((run.schedule_id, run.due_at), 0) + 1
    statuses = {}
    for run in runs:
        statuses[run.status] = statuses.get(run.status, 0) + 1
    return {"due_at": due.isoformat(), "runs": len(runs), "due_times_fired": len(per_due),
            "most_runs_of_one_due_time": max(per_due.values(), default=0), "runs_by_status": statuses,
            "executions": len(created), "distinct_execution_ids": len({r.execution_id for r in runs}),
            "start_lag_seconds": {"p50": round(statistics.median(lags), 2) if lags else None,
                                  "p95": round(lags[int(len(lags) * 0.95) - 1], 2) if lags else None,
                                  "max": round(lags[-1], 2) if lags else None}}


def idle_tick(app, args, world, workflow_id) -> dict:
    from sqlalchemy import event, func, select

    from unstract.extensions import db
    from unstract.models import Schedule
    from unstract.services.scheduler import run_due

    with app.app_context():
        have = db.session.scalar(select(func.count()).select_from(Schedule))
        add_schedules(world, workflow_id, max(args.idle_schedules - have, 0), "0 0 1 1 *",
                      datetime.now(UTC) + timedelta(days=30))
        settings = app.config["UNSTRACT_SETTINGS"]
        if db.engine.dialect.name == "postgresql":  # planner statistics as autovacuum would leave them
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("ANALYZE schedule, schedule_run")
        run_due(settings)  # warm: statements prepared, pool filled
        statements = []
        listener = lambda *a: statements.append((a[2], a[3]))  # noqa: E731 - what one pass sends
        event.listen(db.engine, "before_cursor_execute", listener)
        run_due(settings)
        event.remove(db.engine, "before_cursor_execute", listener)
        plans = query_plans(statements)
        times = []
        for _ in range(args.ticks):
            started = time.perf_counter()
            run_due(settings)
            times.append(time.perf_counter() - started)
        total = db.session.scalar(select(func.count()).select_from(Schedule))
        db.session.remove()
    times.sort()
    return {"schedules": total, "ticks": args.ticks, "statements_per_tick": len(statements), "plans": plans,
            "ms_per_tick": {"p50": round(statistics.median(times) * 1000, 2),
                            "max": round(times[-1] * 1000, 2)}}


def query_plans(statements: list[tuple[str, object]]) -> list[str]:
    """The access path PostgreSQL picks for each statement of an idle pass (its plan's scan lines)."""
    from unstract.extensions import db

    if db.engine.dialect.name != "postgresql":
        return []
    found = []
    with db.engine.connect() as connection:
        for statement, parameters in statements:
            lines = connection.exec_driver_sql("EXPLAIN " + statement, parameters).scalars().all()
            found.append(" / ".join(line.strip() for line in lines if "Scan" in line))
    return found


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.schedules", description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--idle-schedules", type=int, default=10000)
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of a PostgreSQL database")
    parser.add_argument("--redis-url", default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    common.interrupt_on_sigterm()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="unstract-schedules-")))
        database_url = stack.enter_context(common.database(tmp, None if args.sqlite else args.admin_url))
        redis_url = stack.enter_context(common.redis_server(tmp / "redis", args.redis_url))
        # Every scheduled run is a PENDING execution for a moment: the org's pending limit must fit the burst.
        env = {**common.base_env(tmp / "data", database_url, redis_url),
               "UNSTRACT_MAX_PENDING_EXECUTIONS": str(args.schedules * 2)}
        app = stack.enter_context(common.migrated_app(env))
        storage = Path(env["UNSTRACT_LOCAL_STORAGE_ROOTS"])
        (storage / "in").mkdir(parents=True, exist_ok=True)  # empty: each run lists nothing and completes
        with app.app_context():
            world = common.make_world(storage)
            workflow_id = common.make_folder_workflow(world, "scheduled", "in", "out", 10).id
        pool = stack.enter_context(closing(common.WorkerPool()))
        pool.start(common.UNSTRACT_WORKER_ARGV, env, tmp / "logs", args.workers, "worker")
        pool.wait_registered(redis_url, common.UNSTRACT_QUEUE)
        report = {"args": vars(args), "burst": burst(app, args, world, workflow_id)}
        pool.close()
        report["idle_tick"] = idle_tick(app, args, world, workflow_id)
        report["machine"] = common.machine_info()
        print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
