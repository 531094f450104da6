"""Bulk-loaded data for the list, clear and live-log benchmarks (issue 6): `python -m bench.data --help`.

At `--scale 1`: 10,000 workflows; 1,000,000 file-history rows over 20 of them, half in one "big"
workflow (20 % in ERROR); 10,000 executions over the same 20 (half in the big one), 3 file executions
each and 1,000 in one "big" execution; 2,000,000 log rows, 10 % of them in the big execution, spread over
the whole id range. Rows go in time order, interleaved, by COPY (PostgreSQL) or executemany (SQLite).
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import itertools
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import common

ORG_ID = "bench"
EMAIL = "owner@bench.test"
PASSWORD = "password123"
HISTORY_WORKFLOWS = 20
CHUNK = 20_000
FOLDERS = [("Invoices", 20), ("invoices", 20), ("Receipts", 15), ("receipts", 15), ("contracts", 20),
           ("scans", 9), (None, 1)]  # None: an upload, no path
LEVELS = [("INFO", 1, 93), ("DEBUG", 0, 2), ("WARN", 2, 3), ("ERROR", 3, 2)]
START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=365)
HISTORY_ERROR = "field_extractor: required field 'total' not found."


@dataclass(frozen=True)
class Sizes:
    workflows: int
    histories: int
    executions: int
    logs: int
    big_files: int
    files_per_execution: int = 3

    @classmethod
    def at(cls, scale: float) -> Sizes:
        small = max(HISTORY_WORKFLOWS, round(10_000 * scale))
        return cls(small, round(1_000_000 * scale), small, round(2_000_000 * scale), max(10, round(1_000 * scale)))


@dataclass
class Dataset:
    """What the benchmarks need to address the loaded rows."""

    sizes: Sizes
    token: str
    workflows: list[uuid.UUID]  # the HISTORY_WORKFLOWS with history and executions; [0] is the big one
    big_execution: uuid.UUID
    big_file: uuid.UUID  # a file execution of the big execution
    small_execution: uuid.UUID
    load_s: dict[str, float] = field(default_factory=dict)

    @property
    def big_workflow(self) -> uuid.UUID:
        return self.workflows[0]


# --- Writing rows ------------------------------------------------------------------------------

def insert_rows(connection, table, rows: Iterable[dict]) -> int:
    """Bulk-insert dict rows (same keys in every row): COPY on PostgreSQL, executemany of values already
    in SQLAlchemy's storage format on SQLite (its per-value processing would double the load time)."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    names, rows = list(first), itertools.chain([first], rows)
    if connection.dialect.name == "postgresql":
        return _copy_rows(connection, table, names, rows)
    convert = [sqlite_converter(table.c[n].type) for n in names]
    # Names come from our own metadata, never from input.
    statement = f'INSERT INTO "{table.name}" ({", ".join(names)}) VALUES ({", ".join("?" * len(names))})'  # noqa: S608
    cursor, written = connection.connection.driver_connection.cursor(), 0
    while chunk := list(itertools.islice(rows, CHUNK)):
        cursor.executemany(statement, [[c(row[n]) for c, n in zip(convert, names, strict=True)] for row in chunk])
        written += len(chunk)
    return written


def sqlite_converter(column_type) -> Callable:
    """Python value -> what SQLAlchemy stores on SQLite: hex UUIDs, naive UTC text timestamps, JSON text."""
    name = repr(column_type)
    if "Uuid" in name:
        return lambda v: None if v is None else v.hex
    if "UTCDateTime" in name:
        return lambda v: None if v is None else v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if "JSON" in name:
        return lambda v: None if v is None else json.dumps(v)
    return (lambda v: None if v is None else int(v)) if "Boolean" in name else (lambda v: v)


def _copy_rows(connection, table, names: list[str], rows: Iterator[dict]) -> int:
    from psycopg.types.json import Jsonb

    json_columns = {n for n in names if "JSON" in repr(table.c[n].type)}
    columns, written = ", ".join(f'"{n}"' for n in names), 0
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([Jsonb(row[n]) if n in json_columns and row[n] is not None else row[n] for n in names])
                written += 1
    return written


@contextmanager
def bulk_connection(app) -> Iterator:
    """One connection with foreign-key checks off (the generator keeps them consistent) and the secondary
    indexes dropped, recreated from their own DDL at the end (one sorted build beats a million inserts)."""
    from unstract.extensions import db

    with app.app_context():
        with db.engine.connect() as connection:
            postgres = connection.dialect.name == "postgresql"
            connection.exec_driver_sql("SET session_replication_role = replica" if postgres
                                       else "PRAGMA foreign_keys=OFF")
            if not postgres:
                connection.exec_driver_sql("PRAGMA cache_size=-1000000")
            # Every index that backs no constraint: (name, its CREATE INDEX statement), from the catalog.
            indexes = [tuple(row) for row in connection.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint)" if postgres
                else "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
            for name, _ in indexes:
                connection.exec_driver_sql(f'DROP INDEX "{name}"')
            yield connection
            for _, ddl in indexes:
                connection.exec_driver_sql(ddl)
            connection.commit()
            if postgres:
                connection.exec_driver_sql("SET session_replication_role = DEFAULT")
        db.engine.dispose()  # SQLite: later connections get the app's pragmas again


# --- Row generators ----------------------------------------------------------------------------

def new_id(rng: random.Random) -> uuid.UUID:
    """A version-4 UUID from the seeded generator (reproducible, and 5x cheaper than uuid4())."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def at(fraction: float) -> datetime:
    return START + SPAN * fraction


def workflow_rows(org: uuid.UUID, user: uuid.UUID, ids: list[uuid.UUID], rng: random.Random) -> Iterator[dict]:
    for n, workflow_id in enumerate(ids):
        created = at(n / len(ids))
        yield {"id": workflow_id, "organization_id": org, "workflow_name": f"Workflow {n:05d}",
               "description": f"Benchmark workflow {n}", "status": "", "deployment_type": "DEFAULT",
               "shared_to_org": n % 10 == 0, "is_active": n % 7 != 0, "workflow_owner": user,
               "created_by": user, "modified_by": user, "created_at": created,
               "modified_at": created + timedelta(seconds=rng.randrange(86_400 * 30))}


def child_rows(user: uuid.UUID, ids: list[uuid.UUID]) -> dict[str, list[dict]]:
    """Each workflow's owner membership, two empty endpoints and two tool instances, by table."""
    stamps = {"created_at": START, "modified_at": START}
    return {
        "workflow_membership": [{"id": uuid.uuid4(), "workflow_id": w, "user_id": user, "role": "owner",
                                 "created_at": START} for w in ids],
        "workflow_endpoint": [{"id": uuid.uuid4(), "workflow_id": w, "endpoint_type": kind, "connection_type": "",
                               "connector_instance_id": None, "configuration": None, **stamps}
                              for w in ids for kind in ("SOURCE", "DESTINATION")],
        "tool_instance": [{"id": uuid.uuid4(), "workflow_id": w, "tool_id": tool, "step": step,
                           "metadata": {"rules": []} if step == 2 else {}, **stamps}
                          for w in ids for step, tool in ((1, "text_extractor"), (2, "field_extractor"))],
    }


def spread(n: int, workflows: list[uuid.UUID]) -> uuid.UUID:
    """Every second row to the big workflow, the rest round-robin over the others."""
    return workflows[0] if n % 2 == 0 else workflows[1 + (n // 2) % (len(workflows) - 1)]


class Picker:
    """Weighted random choice over (value, weight) pairs, with the cumulative weights computed once."""

    def __init__(self, rng: random.Random, choices: list[tuple]):
        self.rng, self.values = rng, [c[:-1] if len(c) > 2 else c[0] for c in choices]
        self.cumulative = list(itertools.accumulate(c[-1] for c in choices))

    def __call__(self):
        return self.values[bisect.bisect(self.cumulative, self.rng.random() * self.cumulative[-1])]


def history_rows(total: int, workflows: list[uuid.UUID], rng: random.Random) -> Iterator[dict]:
    folder, count = Picker(rng, FOLDERS), Picker(rng, [(1, 70), (2, 15), (3, 8), (4, 3), (5, 2), (8, 2)])
    for n in range(total):
        created, where = at(n / total), folder()
        path = f"{where}/{created.year}-{created.month:02d}/doc-{n:07d}.pdf" if where else None
        error = rng.random() < 0.2
        yield {"id": new_id(rng), "workflow_id": spread(n, workflows),
               "cache_key": hashlib.sha256(str(n).encode()).hexdigest(), "provider_file_uuid": None,
               "file_path": path, "path_key": path or "", "status": "ERROR" if error else "COMPLETED",
               "execution_count": count(), "error": HISTORY_ERROR if error else "",
               "result": None if error else {"invoice_number": f"INV-{n}", "total": n % 997 + 0.5},
               "metadata": {"file_name": f"doc-{n:07d}.pdf", "file_size": 18_000 + n % 5000,
                            "mime_type": "application/pdf", "execution_id": None, "file_execution_id": None},
               "created_at": created, "modified_at": created + timedelta(seconds=rng.randrange(86_400))}


@dataclass
class ExecutionPlan:
    """Ids of the executions and their file executions, decided before any row is written."""

    executions: list[tuple[uuid.UUID, uuid.UUID, datetime]]  # (id, workflow, created_at); [0] is the big one
    files: dict[uuid.UUID, list[uuid.UUID]]

    @classmethod
    def make(cls, sizes: Sizes, workflows: list[uuid.UUID]) -> ExecutionPlan:
        executions = [(uuid.uuid4(), spread(n, workflows), at(n / sizes.executions))
                      for n in range(sizes.executions)]
        files = {e[0]: [uuid.uuid4() for _ in range(sizes.big_files if n == 0 else sizes.files_per_execution)]
                 for n, e in enumerate(executions)}
        return cls(executions, files)


def execution_rows(plan: ExecutionPlan, org: uuid.UUID, user: uuid.UUID, rng: random.Random) -> Iterator[dict]:
    pick_status = Picker(rng, [("COMPLETED", 85), ("ERROR", 10), ("STOPPED", 5)])
    for n, (execution_id, workflow_id, created) in enumerate(plan.executions):
        status = "EXECUTING" if n == 0 else pick_status()
        files = len(plan.files[execution_id])
        yield {"id": execution_id, "workflow_id": workflow_id, "organization_id": org, "created_by": user,
               "execution_mode": "QUEUE", "execution_type": "COMPLETE", "status": status,
               "phase": "PROCESSING" if n == 0 else "DONE", "total_files": files,
               "successful_files": files if status == "COMPLETED" else 0, "failed_files": 0,
               "error_message": "boom" if status == "ERROR" else "", "attempts": 1,
               "execution_time": 0.0 if n == 0 else round(rng.uniform(0.5, 60), 3),
               "use_file_history": True, "awaiting_action": False, "total_steps": 2, "timeout": 300,
               "stop_requested": False, "lease_attempts": 0, "created_at": created, "modified_at": created}


def file_execution_rows(plan: ExecutionPlan) -> Iterator[dict]:
    for execution_id, _, created in plan.executions:
        for number, file_id in enumerate(plan.files[execution_id], start=1):
            yield {"id": file_id, "execution_id": execution_id, "file_number": number,
                   "file_name": f"doc-{number:05d}.pdf", "file_path": f"inbox/doc-{number:05d}.pdf",
                   "file_size": 18_000, "file_hash": hashlib.sha256(file_id.bytes).hexdigest(),
                   "mime_type": "application/pdf", "status": "COMPLETED", "attempts": 1, "steps_done": 2,
                   "created_at": created, "modified_at": created}


STAGES = ["PROCESSING", "TOOL", "TOOL", "DESTINATION", "PROCESSING"]


def execution_log_specs(files: list[uuid.UUID], count: int) -> Iterator[tuple[uuid.UUID | None, str]]:
    """(file execution or None, stage) of one execution's `count` rows: start, per-file rows, end."""
    head = [(None, "INITIALIZE"), (None, "SOURCE")][:count]
    yield from head
    body = max(count - len(head) - 1, 0)
    for n in range(body):
        yield files[n * len(files) // body], STAGES[n % len(STAGES)]
    if count > len(head):
        yield None, "FINALIZE"


def big_log_specs(files: list[uuid.UUID]) -> Iterator[tuple[uuid.UUID | None, str]]:
    """Endless rows of the big execution: one in 20 execution-level, the others cycling over its files."""
    for n in itertools.count():
        yield (None, "PROCESSING") if n % 20 == 19 else (files[(n - n // 20) % len(files)], STAGES[n % len(STAGES)])


def log_specs(plan: ExecutionPlan, total: int) -> Iterator[tuple[uuid.UUID, uuid.UUID | None, str]]:
    """Every execution's rows in turn, with the big execution's rows spread evenly in between."""
    big_id = plan.executions[0][0]
    big_total, normal = total // 10, plan.executions[1:]
    base, extra = divmod(total - big_total, len(normal))
    big = big_log_specs(plan.files[big_id])
    big_written = 0
    for k, (execution_id, _, _) in enumerate(normal):
        for file_id, stage in execution_log_specs(plan.files[execution_id], base + (k < extra)):
            yield execution_id, file_id, stage
        while big_written < big_total * (k + 1) // len(normal):
            file_id, stage = next(big)
            yield big_id, file_id, stage
            big_written += 1


def log_rows(plan: ExecutionPlan, total: int, org_id: str, rng: random.Random) -> Iterator[dict]:
    pick_level = Picker(rng, LEVELS)
    for n, (execution_id, file_id, stage) in enumerate(log_specs(plan, total)):
        level, rank = pick_level()
        event_time = at(n / total)
        step = 1 + n % 2 if stage == "TOOL" else None
        yield {"execution_id": execution_id, "file_execution_id": file_id, "event_time": event_time,
               "level": level, "level_rank": rank, "stage": stage,
               "data": {"timestamp": round(event_time.timestamp(), 6), "type": "LOG", "level": level,
                        "stage": stage, "log": f"Benchmark line {n}: {stage.lower()} of the file went fine.",
                        "step": step, "execution_id": str(execution_id),
                        "file_execution_id": str(file_id) if file_id else None, "organization_id": org_id}}


# --- Loading -----------------------------------------------------------------------------------

def make_owner() -> tuple[uuid.UUID, uuid.UUID, str]:
    """Org `bench`, its member `owner@bench.test` (owner of every workflow) and a full-access key."""
    from unstract.services import accounts

    org = accounts.create_org(ORG_ID, "Bench")
    user = accounts.add_user(EMAIL, PASSWORD, ORG_ID, "member")
    return org.id, user.id, accounts.create_api_key(ORG_ID, EMAIL, "full_access")


def load(app, sizes: Sizes, seed: int = 6) -> Dataset:
    """Write the whole data set into the app's (migrated, empty) database; then VACUUM ANALYZE on PostgreSQL."""
    from unstract.extensions import db

    rng = random.Random(seed)
    with app.app_context():
        org, user, token = make_owner()
    workflow_ids = [uuid.uuid4() for _ in range(sizes.workflows)]
    history_ids = workflow_ids[-HISTORY_WORKFLOWS:]  # the most recently created ones
    plan = ExecutionPlan.make(sizes, history_ids)
    children = child_rows(user, workflow_ids)
    writers = {"workflow": lambda: workflow_rows(org, user, workflow_ids, rng),
               **{name: (lambda name=name: children[name]) for name in children},
               "execution": lambda: execution_rows(plan, org, user, rng),
               "file_execution": lambda: file_execution_rows(plan),
               "file_history": lambda: history_rows(sizes.histories, history_ids, rng),
               "execution_log": lambda: log_rows(plan, sizes.logs, ORG_ID, rng)}
    load_s: dict[str, float] = {}
    with bulk_connection(app) as connection:
        for name, rows in writers.items():
            started = time.perf_counter()
            insert_rows(connection, db.metadata.tables[name], rows())
            load_s[name] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()  # the secondary indexes are built when the block ends
    maintain(app)
    load_s["indexes_and_maintenance"] = round(time.perf_counter() - started, 2)
    big = plan.executions[0][0]
    return Dataset(sizes=sizes, token=token, workflows=history_ids, big_execution=big,
                   big_file=plan.files[big][len(plan.files[big]) // 2], small_execution=plan.executions[-1][0],
                   load_s=load_s)


def maintain(app) -> None:
    """PostgreSQL: VACUUM ANALYZE, as autovacuum would soon do. SQLite: checkpoint the WAL only
    (the app never runs ANALYZE, so the planner works without statistics, as it does in production)."""
    from unstract.extensions import db

    with app.app_context():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("VACUUM ANALYZE")
            else:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.engine.dispose()


@contextmanager
def loaded(scale: float, database_url: str | None = None, redis_url: str | None = None,
           workdir: Path | None = None) -> Iterator[tuple[object, dict, Dataset]]:
    """(app, env, dataset) on a throwaway database (SQLite file, or `bench_<random>` on `database_url`'s
    server) filled at `scale`; everything is removed afterwards, also on Ctrl-C or SIGTERM."""
    with ExitStack() as stack:
        tmp = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="unstract-bench-")))
        redis_url = stack.enter_context(common.redis_server(tmp / "redis", redis_url))
        url = stack.enter_context(common.database(tmp, database_url))
        env = common.base_env(tmp / "data", url, redis_url)
        app = stack.enter_context(common.migrated_app(env))
        yield app, env, load(app, Sizes.at(scale))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.data", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full data set (0.1: quick)")
    parser.add_argument("--database-url", help="a PostgreSQL server (postgresql+psycopg://…/postgres): the "
                                               "data goes to a throwaway bench_<random> database (default: SQLite)")
    args = parser.parse_args(argv)
    common.interrupt_on_sigterm()
    started = time.perf_counter()
    with loaded(args.scale, args.database_url) as (app, _env, dataset), app.app_context():
        from sqlalchemy import func, select

        from unstract.extensions import db

        print(f"loaded in {time.perf_counter() - started:.1f} s: {dataset.load_s}\n{asdict(dataset.sizes)}")
        print({t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables})
    return 0


if __name__ == "__main__":
    sys.exit(main())
