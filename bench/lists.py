"""List endpoints next to their raw SQL on the big data set (issue 6, item 2): `python -m bench.lists --help`.

For each list endpoint and filter, page 1 and a deep page (90 % of the way down) are requested through the
full HTTP stack (waitress on loopback, Bearer key, JSON), alternating with the raw SQL that returns the
same rows and the same count, run on the DBAPI cursor (plain SELECT … LIMIT/OFFSET and SELECT count(*), as
one would write them by hand). Each endpoint's own statements are captured once and EXPLAINed
(EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite) into --out.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import math
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Select, event, exists, func, or_, select

from bench import bypasses, common
from bench.data import Dataset, loaded

PAGE_SIZE = 50
FRAMEWORK_MS = 5.0  # "a few milliseconds of framework cost"


# --- Serving and calling -----------------------------------------------------------------------

@contextmanager
def served(app, threads: int = 4) -> Iterator[int]:
    """The app under waitress on a free loopback port (as `unstract serve` runs it); yields the port."""
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        stop_server(server)
        thread.join(timeout=10)


def stop_server(server) -> None:
    """Let the request threads finish, then close every channel from inside the server's own loop (through
    its trigger), which then ends."""
    logging.getLogger("waitress").setLevel(logging.ERROR)  # "unhandled close event" of the listener
    server.task_dispatcher.shutdown()
    closed = threading.Event()

    def close_all() -> None:
        for channel in list(server._map.values()):
            channel.close() if channel is server.trigger else channel.handle_close()
        closed.set()

    server.trigger.pull_trigger(close_all)
    closed.wait(timeout=10)


class Client:
    """One keep-alive HTTP connection; every call returns (status, body, seconds)."""

    def __init__(self, port: int, headers: dict[str, str] | None = None):
        self.port, self.headers = port, headers or {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.last_headers: http.client.HTTPMessage | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            response = self.connection.getresponse()
            data = response.read()
            self.last_headers = response.msg
        except (http.client.HTTPException, OSError):
            self.connection.close()
            raise
        return response.status, data, time.perf_counter() - started

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
        return self.request("GET", path, headers=headers)

    def close(self) -> None:
        self.connection.close()


def api_client(port: int, dataset: Dataset) -> Client:
    return Client(port, {"Authorization": f"Bearer {dataset.token}"})


def api_path(relative: str) -> str:
    return f"/api/v1/unstract/bench/{relative}"


# --- SQL capture, replay and plans -------------------------------------------------------------

@contextmanager
def captured(engine) -> Iterator[list[tuple[str, object]]]:
    """Every (statement, DBAPI parameters) the engine sends while the block runs."""
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def dbapi_form(connection, statement: Select) -> tuple[str, object]:
    """The SQL text and parameters SQLAlchemy sends for `statement`, captured from one execution."""
    with captured(connection.engine) as statements:
        connection.execute(statement).all()
    return statements[-1]


def replay(cursor, statement: str, parameters) -> float:
    """Seconds to execute and fetch every row on the DBAPI cursor (no ORM, no HTTP)."""
    started = time.perf_counter()
    cursor.execute(statement, parameters)
    cursor.fetchall()
    return time.perf_counter() - started


def explain(cursor, dialect: str, statement: str, parameters) -> str:
    if dialect == "postgresql":
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        return "\n".join(row[0] for row in cursor.fetchall())
    cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _, detail in cursor.fetchall():
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return "\n".join(lines)


# --- Cases -------------------------------------------------------------------------------------

@dataclass
class Case:
    group: str
    label: str
    path: str  # relative to the org base, with its filters
    raw: Callable[[int, int], tuple[Select, Select]]  # (offset, size) -> (page, count) in plain SQL


def plain(table, conditions: list, order: list) -> Callable[[int, int], tuple[Select, Select]]:
    def build(offset: int, size: int) -> tuple[Select, Select]:
        page = select(table).where(*conditions).order_by(*order).limit(size).offset(offset)
        return page, select(func.count()).select_from(table).where(*conditions)
    return build


def history_cases(workflow) -> list[Case]:
    from unstract.models import FileHistory

    t = FileHistory.__table__
    base, order = [t.c.workflow_id == workflow], [t.c.created_at.desc(), t.c.id]
    path = f"workflow/{workflow}/file-histories/"
    lower = func.lower(t.c.file_path)
    filters = [("no filter", "", []), ("status=ERROR", "status=ERROR", [t.c.status.in_(["ERROR"])]),
               ("execution_count_min=3", "execution_count_min=3", [t.c.execution_count >= 3]),
               ("execution_count 2..3", "execution_count_min=2&execution_count_max=3",
                [t.c.execution_count >= 2, t.c.execution_count <= 3]),
               ("file_path=Invoices/ (40 %)", "file_path=Invoices/", [lower.like("invoices/%")]),
               ("file_path=contracts/2025-07/ (1.7 %)", "file_path=contracts/2025-07/",
                [lower.like("contracts/2025-07/%")]),
               ("status+count+path", "status=ERROR&execution_count_min=2&file_path=receipts/",
                [t.c.status.in_(["ERROR"]), t.c.execution_count >= 2, lower.like("receipts/%")])]
    cases = [Case("file-histories", label, f"{path}?{query}" if query else path, plain(t, base + extra, order))
             for label, query, extra in filters]
    cases.append(Case("file-histories", "ordering=file_path", f"{path}?ordering=file_path",
                      plain(t, base, [t.c.file_path, t.c.id])))
    return cases


def execution_cases(dataset: Dataset, tail_after: int) -> list[Case]:
    from unstract.models import Execution, ExecutionLog, FileExecution

    e, f, g = Execution.__table__, FileExecution.__table__, ExecutionLog.__table__
    wf, ex = dataset.big_workflow, dataset.big_execution
    logs = f"workflow/execution/{ex}/logs/"
    log_order = [g.c.event_time, g.c.id]
    on_big = [g.c.execution_id == ex]
    return [
        Case("executions", "status=PENDING (no rows: the floor)", f"workflow/{wf}/execution/?status=PENDING",
             plain(e, [e.c.workflow_id == wf, e.c.status.in_(["PENDING"])], [e.c.created_at.desc(), e.c.id])),
        Case("executions", "no filter", f"workflow/{wf}/execution/",
             plain(e, [e.c.workflow_id == wf], [e.c.created_at.desc(), e.c.id])),
        Case("executions", "status=ERROR,STOPPED", f"workflow/{wf}/execution/?status=ERROR,STOPPED",
             plain(e, [e.c.workflow_id == wf, e.c.status.in_(["ERROR", "STOPPED"])], [e.c.created_at.desc(), e.c.id])),
        Case("files", "no filter", f"workflow/execution/{ex}/files/",
             plain(f, [f.c.execution_id == ex], [f.c.file_number, f.c.id])),
        Case("logs", "no filter", logs, plain(g, on_big, log_order)),
        Case("logs", "log_level=WARN", f"{logs}?log_level=WARN", plain(g, on_big + [g.c.level_rank >= 2], log_order)),
        Case("logs", "file_execution_id=<one file>", f"{logs}?file_execution_id={dataset.big_file}",
             plain(g, on_big + [g.c.file_execution_id == dataset.big_file], log_order)),
        Case("logs", "file_execution_id=null", f"{logs}?file_execution_id=null",
             plain(g, on_big + [g.c.file_execution_id.is_(None)], log_order)),
        Case("logs", "after=<20 rows before the end>", f"{logs}?after={tail_after}",
             plain(g, on_big + [g.c.id > tail_after], log_order)),
        Case("logs", "small execution", f"workflow/execution/{dataset.small_execution}/logs/",
             plain(g, [g.c.execution_id == dataset.small_execution], log_order)),
    ]


def workflow_cases(org_id, user_id) -> list[Case]:
    from unstract.models import Workflow, WorkflowMembership

    w, m = Workflow.__table__, WorkflowMembership.__table__
    visible = [w.c.organization_id == org_id, or_(w.c.shared_to_org.is_(True), exists().where(
        m.c.workflow_id == w.c.id, m.c.user_id == user_id, m.c.role.in_(["owner", "viewer"])))]
    order = [w.c.modified_at.desc(), w.c.id]
    return [Case("workflows", "no filter", "workflow/", plain(w, visible, order)),
            Case("workflows", "is_active=false", "workflow/?is_active=false",
                 plain(w, visible + [w.c.is_active.is_(False)], order)),
            Case("workflows", "search=flow 09", "workflow/?search=flow%2009",
                 plain(w, visible + [func.lower(w.c.workflow_name).like("%flow 09%")], order))]


def all_cases(app, dataset: Dataset) -> list[Case]:
    from unstract.extensions import db
    from unstract.models import ExecutionLog, Organization, User

    with app.app_context():
        newest = db.session.scalars(select(ExecutionLog.id).where(ExecutionLog.execution_id == dataset.big_execution)
                                    .order_by(ExecutionLog.id.desc()).limit(21)).all()
        org = db.session.scalar(select(Organization.id).where(Organization.org_id == "bench"))
        user = db.session.scalar(select(User.id).where(User.email == "owner@bench.test"))
    return (workflow_cases(org, user) + execution_cases(dataset, newest[-1])
            + history_cases(dataset.big_workflow))


# --- Measuring ---------------------------------------------------------------------------------

def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(samples: list[float]) -> dict[str, float]:
    return {"p50": round(1000 * percentile(samples, 0.5), 2), "p99": round(1000 * percentile(samples, 0.99), 2)}


@dataclass
class Probe:
    """What one measurement needs: the HTTP client, a raw cursor, the app's engine, and the limits."""

    client: Client
    connection: object  # SQLAlchemy connection (AUTOCOMMIT) whose DBAPI cursor replays the raw SQL
    budget_s: float
    max_reps: int
    plans: list[str]

    @property
    def cursor(self):
        return self.connection.connection.driver_connection.cursor()


def with_page(path: str, page: int) -> str:
    return f"{path}{'&' if '?' in path else '?'}page={page}&page_size={PAGE_SIZE}"


def record_plans(probe: Probe, title: str, statements: list[tuple[str, object]]) -> None:
    dialect = probe.connection.dialect.name
    for n, (statement, parameters) in enumerate(statements, start=1):
        if re.search(r"\bFROM (api_key|organization|org_membership|user_account)\b", statement):
            continue  # authentication, the same for every request
        plan = explain(probe.cursor, dialect, statement, parameters)
        probe.plans.append(f"### {title} — statement {n}\n{statement}\n-- {parameters!r}\n{plan}\n")


def measure(probe: Probe, case: Case, page: int, count: int) -> dict:
    """p50/p99 of the endpoint and of its raw SQL (page and count), alternating, within the budget."""
    path = api_path(with_page(case.path, page))
    with captured(probe.connection.engine) as statements:
        status, body, _ = probe.client.get(path)
    assert status == 200, (path, status, body[:300])
    raw = [dbapi_form(probe.connection, s) for s in case.raw((page - 1) * PAGE_SIZE, PAGE_SIZE)]
    title = f"{case.group} {case.label} page {page}"
    record_plans(probe, f"{title} (endpoint)", statements)
    record_plans(probe, f"{title} (raw)", raw)
    endpoint, raw_page, raw_count = [], [], []
    started = time.perf_counter()
    for rep in range(-2, probe.max_reps):  # two warm-up rounds
        seconds = probe.client.get(path)[2]
        page_s, count_s = (replay(probe.cursor, *raw[0]), replay(probe.cursor, *raw[1]))
        if rep >= 0:
            endpoint.append(seconds), raw_page.append(page_s), raw_count.append(count_s)
            if time.perf_counter() - started > probe.budget_s and rep >= 9:
                break
    total = [a + b for a, b in zip(raw_page, raw_count, strict=True)]
    result = {"group": case.group, "label": case.label, "page": page, "count": count,
              "statements": len(statements), "reps": len(endpoint), "endpoint": ms(endpoint),
              "raw_page": ms(raw_page), "raw_count": ms(raw_count), "raw": ms(total)}
    return judged(result)


def judged(result: dict) -> dict:
    """The result with its endpoint/raw ratio and the target's verdict (endpoint p50 <= 2 x raw p50 + 5 ms)."""
    result["ratio"] = round(result["endpoint"]["p50"] / max(result["raw"]["p50"], 0.01), 2)
    result["ok"] = result["endpoint"]["p50"] <= 2 * result["raw"]["p50"] + FRAMEWORK_MS
    return result


def combined(rounds: list[list[dict]]) -> list[dict]:
    """One result per case from several rounds over all cases: the median of each round's figures, so a
    stretch of minutes when the machine was slower weighs on one round only. Each round's endpoint and
    raw p50 are kept under "rounds"."""
    results = []
    for per_round in zip(*rounds, strict=True):
        result = dict(per_round[0])
        for measure in ("endpoint", "raw_page", "raw_count", "raw"):
            result[measure] = {q: round(statistics.median(r[measure][q] for r in per_round), 2)
                               for q in ("p50", "p99")}
        result["reps"] = sum(r["reps"] for r in per_round)
        result["rounds"] = [{"endpoint": r["endpoint"]["p50"], "raw": r["raw"]["p50"]} for r in per_round]
        results.append(judged(result))
    return results


def measure_case(probe: Probe, case: Case) -> list[dict]:
    status, body, _ = probe.client.get(api_path(with_page(case.path, 1)))
    assert status == 200, (case.path, status, body[:300])
    count = json.loads(body)["count"]
    pages = math.ceil(count / PAGE_SIZE)
    wanted = [1] + ([max(2, round(pages * 0.9))] if pages >= 3 else [])
    return [measure(probe, case, page, count) for page in wanted]


def run(app, dataset: Dataset, *, budget_s: float = 3.0, max_reps: int = 200,
        only: str | None = None) -> tuple[list[dict], list[str]]:
    """Every case of every list endpoint; returns the results and the saved plans."""
    from unstract.extensions import db

    cases = [c for c in all_cases(app, dataset) if not only or re.search(only, f"{c.group} {c.label}")]
    results: list[dict] = []
    with app.app_context(), served(app) as port:
        connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        probe = Probe(api_client(port, dataset), connection, budget_s, max_reps, [])
        try:
            for case in cases:
                for result in measure_case(probe, case):
                    results.append(result)
                    print(table_row(result), flush=True)
        finally:
            probe.client.close()
            connection.close()
    return results, probe.plans


# --- Reporting ---------------------------------------------------------------------------------

HEADER = ("| list | filter | page | count | SQL | endpoint p50 / p99 ms | raw page p50 | raw count p50 "
          "| raw p50 / p99 ms | endpoint/raw | ≤ 2x + 5 ms |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")


def table_row(r: dict) -> str:
    return (f"| {r['group']} | {r['label']} | {r['page']} | {r['count']} | {r['statements']} "
            f"| {r['endpoint']['p50']} / {r['endpoint']['p99']} | {r['raw_page']['p50']} | {r['raw_count']['p50']} "
            f"| {r['raw']['p50']} / {r['raw']['p99']} | {r['ratio']} | {'yes' if r['ok'] else '**no**'} |")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.lists", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full data set (0.1: quick)")
    parser.add_argument("--database-url", help="a PostgreSQL server (…/postgres); a throwaway bench_<random> "
                                               "database is created on it and dropped (default: SQLite)")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds of timing per case and page")
    parser.add_argument("--max-reps", type=int, default=200, help="at most this many timed requests per case")
    parser.add_argument("--only", help="regular expression on 'group label': run only matching cases")
    parser.add_argument("--rounds", type=int, default=1, help="measure every case this many times, one round "
                        "after the other, and report the median of the rounds (steadier on a noisy machine)")
    parser.add_argument("--out", type=Path, help="write results.json, plans.txt and report.md into DIR")
    parser.add_argument("--without", default="", help="comma-separated bypasses (bench.bypasses.NAMES): each "
                        "round also measures the cases with each one switched off, for an A/B in one run")
    parser.add_argument("--then", nargs="*", default=[], choices=["live_logs", "clear"],
                        help="on the same data, then run these benchmarks (clear last: it deletes rows)")
    return parser.parse_args(argv)


def measure_rounds(app, dataset: Dataset, args: argparse.Namespace, variants: list) -> tuple[dict, list[str]]:
    """Every selected case, round after round, once per variant (None: every bypass on; a name: without it,
    bench.bypasses); the median of the rounds per variant, and the plans."""
    rounds: dict = {variant: [] for variant in variants}
    plans: list[str] = []
    for number in range(1, args.rounds + 1):
        for variant in variants:
            print(f"\n# round {number} of {args.rounds}" + (f", without {variant}" if variant else ""), flush=True)
            with bypasses.without(variant):
                results, round_plans = run(app, dataset, budget_s=args.budget, max_reps=args.max_reps, only=args.only)
            rounds[variant].append(results)
            plans = plans or round_plans  # the statements and their plans are the same in every round
    return {variant: combined(r) if args.rounds > 1 else r[0] for variant, r in rounds.items()}, plans


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.interrupt_on_sigterm()
    backend = "postgresql" if args.database_url else "sqlite"
    with loaded(args.scale, args.database_url) as (app, env, dataset):
        print(f"# {backend}, scale {args.scale}: loaded in {sum(dataset.load_s.values()):.0f} s "
              f"{dataset.load_s}; load average {common.machine_info()['load_at_start']}\n\n{HEADER}", flush=True)
        variants = [None, *filter(None, args.without.split(","))]
        medians, plans = measure_rounds(app, dataset, args, variants)
        results = medians[None]
        if args.rounds > 1:
            print(f"\n# median of {args.rounds} rounds\n{HEADER}\n" + "\n".join(table_row(r) for r in results))
        if len(variants) > 1:
            print(f"\n# without each bypass (median of the rounds)\n{bypasses.COMPARISON_HEADER}\n" + "\n".join(
                row for variant in variants[1:] for row in bypasses.comparison(results, medians[variant], variant)))
        extra = {name: __import__(f"bench.{name}", fromlist=["run"]).run(app, env, dataset) for name in args.then}
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps(
            {"backend": backend, "scale": args.scale, "machine": common.machine_info(), "load_s": dataset.load_s,
             "lists": results, "without": {v: r for v, r in medians.items() if v}, **extra}, indent=1, default=str))
        (args.out / "plans.txt").write_text("\n".join(plans))
        (args.out / "report.md").write_text(HEADER + "\n" + "\n".join(table_row(r) for r in results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
