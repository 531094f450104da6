"""Paging of the big lists (issue 6): exact counts on every page shape, pages located by their keys walk
every row once in order, the path prefix range, the log tail, and the indexes those queries reach."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from tests.factories import make_execution, make_file_execution, make_histories, make_history, make_log, make_workflow
from tests.support import sql_statements
from unstract.extensions import db
from unstract.services import file_history
from unstract.services.file_history import prefix_successor

BASE = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def workflow(world):
    return make_workflow(world.users["owner"], "acme")


def at(seconds: float) -> datetime:
    return BASE + timedelta(seconds=seconds)


def histories(workflow, query: str = "") -> str:
    return f"workflow/{workflow.id}/file-histories/?{query}"


def walk(api, path: str, size: int) -> list[dict]:
    """Every row of every page of `path`, checking each page's count and links on the way."""
    rows, page, total = [], 1, None
    while True:
        body = api.get(f"{path}&page={page}&page_size={size}").json
        total = body["count"] if total is None else total
        assert body["count"] == total and len(body["results"]) == min(size, total - (page - 1) * size)
        rows += body["results"]
        if body["next"] is None:
            assert len(rows) == total
            assert api.get(f"{path}&page={page + 1}&page_size={size}").status_code == 404
            return rows
        page += 1


# --- Counts ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rows", "size", "page", "count", "shown", "has_next"), [
    (23, 5, 1, 23, 5, True), (23, 5, 4, 23, 5, True), (23, 5, 5, 23, 3, False), (20, 5, 4, 20, 5, False),
    (23, 23, 1, 23, 23, False), (23, 22, 2, 23, 1, False), (1, 50, 1, 1, 1, False), (0, 50, 1, 0, 0, False),
])
def test_count_is_exact_whether_or_not_the_page_is_full(workflow, api, rows, size, page, count, shown, has_next):
    if rows:
        make_histories(workflow, rows)
    body = api.get(histories(workflow, f"page={page}&page_size={size}")).json
    assert (body["count"], len(body["results"]), body["next"] is not None) == (count, shown, has_next)
    assert (body["previous"] is not None) == (page > 1)


@pytest.mark.parametrize(("rows", "size", "page"), [(0, 50, 2), (20, 5, 5), (23, 5, 6), (23, 50, 2)])
def test_a_page_past_the_last_is_invalid_page(workflow, api, rows, size, page):
    if rows:
        make_histories(workflow, rows)
    response = api.get(histories(workflow, f"page={page}&page_size={size}"))
    assert response.status_code == 404
    assert response.json["errors"] == [{"code": "invalid_page", "detail": "Invalid page.", "attr": None}]


def test_a_page_number_past_any_table_is_invalid_page_without_an_overflow(workflow, api):
    make_histories(workflow, 3)
    execution = make_execution(workflow)
    for path in (histories(workflow), f"workflow/execution/{execution.id}/logs/?"):
        for page in (10**17, 10**30):
            response = api.get(f"{path}&page={page}")
            assert (response.status_code, response.json["errors"][0]["code"]) == (404, "invalid_page")


def test_filtered_count_follows_the_filter_on_full_and_last_pages(workflow, api):
    make_histories(workflow, 12, status="ERROR")
    make_histories(workflow, 7, status="COMPLETED")
    assert api.get(histories(workflow, "status=ERROR&page_size=5")).json["count"] == 12
    assert api.get(histories(workflow, "status=ERROR&page_size=5&page=3")).json["count"] == 12
    assert api.get(histories(workflow, "status=COMPLETED&page_size=50")).json["count"] == 7


# --- Pages located by their keys --------------------------------------------------------------

@pytest.mark.parametrize("ordering", ["-created_at", "created_at", "execution_count,-modified_at", "-file_path"])
def test_pages_walk_every_row_once_in_the_requested_order_ties_by_id(workflow, api, ordering):
    made = [make_history(workflow, file_path=f"in/{n % 4}.txt" if n % 3 else f"in/{n}.txt",
                         created_at=at(n // 3), modified_at=at(-(n // 2)), execution_count=1 + n % 3)
            for n in range(17)]
    first = ordering.split(",")[0]
    name = first.lstrip("-")
    keys = {"created_at": lambda r: r.created_at, "file_path": lambda r: r.file_path,
            "execution_count": lambda r: (r.execution_count, -r.modified_at.timestamp())}
    expected = sorted(made, key=lambda r: str(r.id))
    expected.sort(key=keys[name], reverse=first.startswith("-"))
    rows = walk(api, histories(workflow, f"ordering={ordering}"), 4)
    assert [r["id"] for r in rows] == [str(r.id) for r in expected]


@pytest.mark.parametrize("ordering", ["-created_at", "execution_count,-modified_at", "-file_path", "modified_at"])
def test_pages_of_a_path_prefix_walk_every_match_once_in_order(workflow, api, ordering):
    """With a path prefix, PostgreSQL cuts the page keys from the fenced matches (api.common.fenced_keys)."""
    made = [make_history(workflow, file_path=f"{'In' if n % 4 else 'out'}/{n % 5}-{n}.txt", created_at=at(n // 3),
                         modified_at=at(-(n // 2)), execution_count=1 + n % 3) for n in range(23)]
    first = ordering.split(",")[0]
    keys = {"created_at": lambda r: r.created_at, "file_path": lambda r: r.file_path,
            "modified_at": lambda r: r.modified_at,
            "execution_count": lambda r: (r.execution_count, -r.modified_at.timestamp())}
    expected = sorted((r for r in made if r.file_path.startswith("In/")), key=lambda r: str(r.id))
    expected.sort(key=keys[first.lstrip("-")], reverse=first.startswith("-"))
    rows = walk(api, histories(workflow, f"file_path=in/&ordering={ordering}"), 4)
    assert [r["id"] for r in rows] == [str(r.id) for r in expected]


def test_log_pages_walk_rows_in_event_time_then_id_order_with_each_filter(world, workflow, api):
    execution = make_execution(workflow)
    files = [make_file_execution(execution), make_file_execution(execution)]
    made = [make_log(execution, f"line {n}", level=("INFO", "WARN", "ERROR")[n % 3],
                     file_execution=files[n % 2] if n % 5 else None, event_time=at(10 - n // 2))
            for n in range(23)]
    for query, keep in [("", lambda r: True), ("log_level=WARN", lambda r: r.level_rank >= 2),
                        (f"file_execution_id={files[1].id}", lambda r: r.file_execution_id == files[1].id),
                        ("file_execution_id=null", lambda r: r.file_execution_id is None)]:
        expected = sorted((r for r in made if keep(r)), key=lambda r: (r.event_time, r.id))
        rows = walk(api, f"workflow/execution/{execution.id}/logs/?{query}", 3)
        assert [r["id"] for r in rows] == [r.id for r in expected], query


# --- The log tail ------------------------------------------------------------------------------

def test_tail_returns_rows_after_the_cursor_by_event_time_and_counts_them(workflow, api):
    execution = make_execution(workflow)
    seen = [make_log(execution, f"old {n}", event_time=at(n)) for n in range(4)]
    late = make_log(execution, "flushed late", event_time=at(7))
    early = make_log(execution, "written first, committed last", event_time=at(5))
    path = f"workflow/execution/{execution.id}/logs/?after={seen[-1].id}"
    body = api.get(path).json
    assert [r["id"] for r in body["results"]] == [early.id, late.id] and body["count"] == 2
    full = api.get(path + "&page_size=1").json
    assert full["count"] == 2 and [r["id"] for r in full["results"]] == [early.id] and full["next"]
    assert api.get(f"workflow/execution/{execution.id}/logs/?after={early.id}").json["count"] == 0


# --- Path prefix -------------------------------------------------------------------------------

def test_path_prefix_matches_exactly_the_paths_starting_with_it_in_any_case(workflow, api):
    paths = ["ab", "AB/x", "ab0", "aBc", "ac", "a", "b", "ab%", "a_b", "café/x", "cafe/x", "ab\\c", None]
    rows = {p: make_history(workflow, file_path=p) for p in paths}
    for prefix, expected in [("ab", ["ab", "AB/x", "ab0", "aBc", "ab%", "ab\\c"]), ("Ab/", ["AB/x"]),
                             ("ab%", ["ab%"]), ("a_", ["a_b"]), ("café", ["café/x"]), ("ab\\", ["ab\\c"]),
                             ("abd", []), ("a", ["ab", "AB/x", "ab0", "aBc", "ac", "a", "ab%", "a_b", "ab\\c"])]:
        query = "file_path=" + prefix.replace("%", "%25").replace("\\", "%5C")
        found = {r["id"] for r in walk(api, histories(workflow, query), 50)}
        assert found == {str(rows[p].id) for p in expected}, prefix


def test_clear_by_path_prefix_deletes_only_the_paths_starting_with_it(workflow, api):
    for path in ["Inbox/a.pdf", "inbox/b.pdf", "inbox0/c.pdf", "inbo/d.pdf", "archive/inbox/e.pdf"]:
        make_history(workflow, file_path=path)
    response = api.post(f"workflow/{workflow.id}/file-histories/clear/", json={"file_path": "INBOX/"})
    assert response.json["deleted_count"] == 2
    left = {r["file_path"] for r in api.get(histories(workflow)).json["results"]}
    assert left == {"inbox0/c.pdf", "inbo/d.pdf", "archive/inbox/e.pdf"}


@pytest.mark.parametrize(("rows", "vacuumed"), [(6, True), (4, False)])
def test_a_large_clear_vacuums_the_table_on_postgresql(workflow, api, monkeypatch, rows, vacuumed):
    monkeypatch.setattr(file_history, "VACUUM_AFTER", 5)
    make_histories(workflow, rows, status="ERROR")
    with sql_statements() as sent:
        response = api.post(f"workflow/{workflow.id}/file-histories/clear/", json={"status": "ERROR"})
    assert response.json["deleted_count"] == rows
    postgres = db.engine.dialect.name == "postgresql"
    assert ("VACUUM (ANALYZE) file_history" in sent) == (vacuumed and postgres)


def test_a_long_clear_also_vacuums_as_it_goes_on_postgresql(workflow, api, monkeypatch):
    """Readers listing during a long clear would otherwise read ever more not-all-visible pages per count."""
    monkeypatch.setattr(file_history, "BATCH_SIZE", 2)
    monkeypatch.setattr(file_history, "VACUUM_EVERY", 4)
    monkeypatch.setattr(file_history, "VACUUM_AFTER", 5)
    make_histories(workflow, 11, status="ERROR")
    with sql_statements() as sent:
        response = api.post(f"workflow/{workflow.id}/file-histories/clear/", json={"status": "ERROR"})
    assert response.json["deleted_count"] == 11
    vacuums = sent.count("VACUUM (ANALYZE) file_history")
    # after rows 4 and 8, then once at the end for the last 3
    assert vacuums == (3 if db.engine.dialect.name == "postgresql" else 0)


@pytest.mark.parametrize(("prefix", "successor"), [
    ("abc", "abd"), ("a/", "a0"), ("a\ud7ff", "a\ue000"), ("a\U0010ffff", "b"), ("\U0010ffff", None),
    ("é", "ê"),
])
def test_prefix_successor_bounds_every_string_starting_with_the_prefix(prefix, successor):
    assert prefix_successor(prefix) == successor


# --- The indexes the list queries reach ---------------------------------------------------------

def page_statement(api, path: str, table: str) -> tuple[str, object]:
    """The page query (not the count) an API request sends for `table`."""
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert api.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return next(s for s in reversed(sent) if f"FROM {table}" in s[0] and "count(*)" not in s[0])


def plan_of(statement: str, parameters) -> str:
    """The database's plan of `statement`, as text.

    SQLite plans by rules, the same on a few rows as on millions. PostgreSQL plans by statistics, which a
    test's few rows do not have, so sequential scans are priced out: the plan then shows whether an index
    *can* serve the query (bench/lists.py shows the plans chosen on large tables).
    """
    cursor = db.session.connection().connection.driver_connection.cursor()
    if db.engine.dialect.name == "postgresql":
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement, parameters)
        return "\n".join(row[0] for row in cursor.fetchall())
    cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
    return "\n".join(row[3] for row in cursor.fetchall())


def assert_searches(plan: str, sqlite_index: str, postgresql_condition: str) -> None:
    """SQLite searches the named index; PostgreSQL seeks an index on the condition, never scanning the table."""
    if db.engine.dialect.name == "postgresql":
        assert "Seq Scan" not in plan, plan
        assert re.search(r"Index Cond: \(+" + re.escape(postgresql_condition), plan), plan
    else:
        assert sqlite_index in plan, plan


def test_path_prefix_filter_searches_the_lower_path_index(workflow, api):
    make_histories(workflow, 30)
    plan = plan_of(*page_statement(api, histories(workflow, "file_path=Input/F"), "file_history"))
    assert_searches(plan, "ix_file_history_wf_lower_path", "workflow_id = ")
    assert "ix_file_history_wf_lower_path" in plan, plan  # on PostgreSQL too: the keys are fenced


def test_log_tail_searches_the_execution_id_index(workflow, api):
    execution = make_execution(workflow)
    first = make_log(execution, "one")
    make_log(execution, "two")
    plan = plan_of(*page_statement(api, f"workflow/execution/{execution.id}/logs/?after={first.id}",
                                   "execution_log"))
    assert_searches(plan, "ix_execution_log_exec_id", "execution_id = ")


def test_a_deep_page_reads_its_keys_from_the_list_index(workflow, api):
    make_histories(workflow, 30)
    plan = plan_of(*page_statement(api, histories(workflow, "page=5&page_size=5"), "file_history"))
    assert_searches(plan, "ix_file_history_wf_created", "workflow_id = ")
