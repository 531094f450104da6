"""Webhook deliveries at volume (docs/PERFORMANCE.md, "Webhook deliveries"): `python -m bench.webhooks --help`.

`--deliveries` executions of one workflow are made terminal through execution_state (in chunks, as the
engine does: the delivery rows in the terminal transaction, the jobs queued after its commit), with one
active notification aimed at a receiver on loopback that answers every POST after `--answer-ms`
(tests/webhook_receiver.py, standing in for the outside receiver). Then `--workers` `unstract worker`s
deliver them; when `--kill-at` of them are delivered, one worker is SIGKILLed (its process group) in the
middle of its work and a fresh one started. Reported: deliveries per second, and from the receiver and
the database: deliveries lost (not received, or not recorded as succeeded) and doubled (one delivery id
received more than once), attempts per delivery. Everything is torn down at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from bench import common
from tests.webhook_receiver import start_receiver, stop_receiver

CHUNK = 500
POLL_SECONDS = 0.2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--answer-ms", type=float, default=50.0)
    parser.add_argument("--kill-at", type=float, default=0.3, help="fraction delivered when a worker is killed")
    parser.add_argument("--database-url", help="a PostgreSQL server for a throwaway database (default: SQLite)")
    parser.add_argument("--redis-url", help="a Redis database to use (FLUSHED before and after)")
    parser.add_argument("--attempt-timeout", type=int, default=10, help="UNSTRACT_WEBHOOK_TIMEOUT_SECONDS")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def queue_deliveries(app, count: int, url: str) -> float:
    """`count` terminal executions of one workflow with one notification; seconds spent queueing them."""
    from unstract.extensions import db
    from unstract.models import Execution, Notification, Workflow, WorkflowMembership, WorkflowRole
    from unstract.services import execution_state, secrets

    with app.app_context():
        world = common.make_world(Path(app.config["UNSTRACT_SETTINGS"].local_storage_roots[0]))
        workflow = Workflow(organization_id=world.org_uuid, workflow_name="Hooks", workflow_owner=world.user_id,
                            created_by=world.user_id, modified_by=world.user_id)
        workflow.memberships.append(WorkflowMembership(user_id=world.user_id, role=WorkflowRole.OWNER))
        db.session.add(workflow)
        db.session.flush()
        secret = secrets.seal_value("s", common.SECRET_KEY, secrets.WEBHOOK_HKDF_INFO)
        db.session.add(Notification(workflow_id=workflow.id, url=url, secret=secret, max_retries=5))
        db.session.commit()
        started = time.monotonic()
        for first in range(0, count, CHUNK):
            ids = [uuid.uuid4() for _ in range(min(CHUNK, count - first))]
            db.session.add_all(Execution(id=i, workflow_id=workflow.id, organization_id=world.org_uuid,
                                         status="EXECUTING", total_files=1, successful_files=1) for i in ids)
            db.session.flush()
            for execution_id in ids:
                execution_state.transition_execution(execution_id, "COMPLETED", when=("EXECUTING",))
            db.session.commit()  # the jobs of the chunk are queued after this commit, one pipeline
        return time.monotonic() - started


def status_counts(app) -> Counter:
    from sqlalchemy import func, select

    from unstract.extensions import db
    from unstract.models import Delivery

    with app.app_context():
        rows = db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        db.session.remove()
    return Counter(dict(rows))


def attempts_histogram(app) -> dict:
    from sqlalchemy import func, select

    from unstract.extensions import db
    from unstract.models import Delivery

    with app.app_context():
        rows = db.session.execute(select(Delivery.attempts, func.count()).group_by(Delivery.attempts)).all()
        ids = {str(i) for i in db.session.scalars(select(Delivery.id).where(Delivery.status == "succeeded"))}
        db.session.remove()
    return {"attempts": {str(a): n for a, n in sorted(rows)}, "succeeded_ids": ids}


def run(args: argparse.Namespace) -> dict:
    common.interrupt_on_sigterm()
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-webhooks-")))
        print(f"working in {root}", flush=True)
        redis_url = stack.enter_context(common.redis_server(root / "redis", args.redis_url))
        database_url = stack.enter_context(common.database(root, args.database_url))
        env = {**common.base_env(root / "data", database_url, redis_url),
               "UNSTRACT_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
               "UNSTRACT_WEBHOOK_TIMEOUT_SECONDS": str(args.attempt_timeout),
               "UNSTRACT_WEBHOOK_RETRY_BASE_SECONDS": "1", "UNSTRACT_FILE_LEASE_SECONDS": "5",
               "UNSTRACT_REAP_INTERVAL_SECONDS": "2"}
        app = stack.enter_context(common.migrated_app(env))
        receiver = start_receiver(delay=args.answer_ms / 1000)
        stack.callback(stop_receiver, receiver)
        queueing_s = queue_deliveries(app, args.deliveries, receiver.url)
        pool = common.WorkerPool()
        stack.callback(pool.close)
        pool.start(common.UNSTRACT_WORKER_ARGV, env, root / "logs", args.workers, "worker")
        pool.wait_registered(redis_url, common.UNSTRACT_QUEUE)
        started, killed_at, deadline = time.monotonic(), None, time.monotonic() + args.timeout
        while True:
            counts = status_counts(app)
            if killed_at is None and counts["succeeded"] >= args.kill_at * args.deliveries:
                victim = pool.processes[0]
                os.killpg(victim.pid, signal.SIGKILL)
                victim.wait(timeout=10)
                killed_at = {"after_s": round(time.monotonic() - started, 2), "succeeded": counts["succeeded"],
                             "requests_so_far": len(receiver.received)}
                pool.processes.remove(victim)
                pool.start(common.UNSTRACT_WORKER_ARGV, env, root / "logs", 1, "replacement")
            if counts["pending"] == 0 or time.monotonic() > deadline:
                break
            time.sleep(POLL_SECONDS)
        elapsed = time.monotonic() - started
        received = Counter(receiver.delivery_ids())
        database = attempts_histogram(app)
        doubled = sorted(i for i, n in received.items() if n > 1)
        figures = {
            "deliveries": args.deliveries, "workers": args.workers, "answer_ms": args.answer_ms,
            "attempt_timeout_s": args.attempt_timeout,
            "database": "postgresql" if args.database_url else "sqlite", "machine": common.machine_info(),
            "queueing_s": round(queueing_s, 2), "delivering_s": round(elapsed, 2),
            "deliveries_per_s": round(counts["succeeded"] / elapsed, 1), "statuses": dict(counts),
            "killed": killed_at, "requests": sum(received.values()), "distinct_received": len(received),
            "lost": len(database["succeeded_ids"] ^ set(received)) + counts["pending"] + counts["failed"],
            "doubled": len(doubled), "attempts": database["attempts"],
        }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    run(parse_args())
