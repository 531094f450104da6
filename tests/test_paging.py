"""unstract.paging as the dashboard uses it (services.execution_pages.page_of): keys first, a fenced
variant for path prefixes on PostgreSQL, and a page past the end showing the last one; plain rows for the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.factories import make_execution, make_history, make_workflow
from tests.support import sql_statements
from unstract.extensions import db
from unstract.fastpath import WireText, wire_timestamp
from unstract.models import Execution, FileHistory
from unstract.paging import page_rows
from unstract.services import file_history
from unstract.services.execution_pages import page_of


def test_dashboard_pages_are_read_keys_first_in_order_with_the_last_page_for_a_page_too_far(world):
    workflow = make_workflow(world.users["owner"], "acme")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = [make_history(workflow, file_path=f"in/{n}.txt", created_at=start + timedelta(minutes=n)) for n in range(23)]
    query = file_history.histories_query(workflow).order_by(FileHistory.created_at.desc(), FileHistory.id)
    newest_first = [row.id for row in reversed(made)]
    with sql_statements() as sent:
        pages = {n: page_of(query, n, 10) for n in (1, 2, 3, 9)}
    assert [[row.id for row in pages[n].items] for n in (1, 2, 3)] == [
        newest_first[:10], newest_first[10:20], newest_first[20:]]
    assert (pages[9].number, pages[9].count, pages[9].pages) == (3, 23, 3)  # past the end: the last page
    assert [row.id for row in pages[9].items] == newest_first[20:]
    keys_first = "IN (SELECT file_history.id" if db.engine.dialect.name == "sqlite" else "AS page_keys"
    assert sum(keys_first in statement for statement in sent) == 4


def test_a_path_prefix_is_fenced_on_postgresql_and_pages_the_same_rows(world):
    workflow = make_workflow(world.users["owner"], "acme")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = [make_history(workflow, file_path=f"{'In' if n % 3 else 'out'}/{n}.txt",
                         created_at=start + timedelta(minutes=n)) for n in range(20)]
    flt = file_history.HistoryFilter(path_pattern="in/%")
    query = file_history.histories_query(workflow, flt).order_by(FileHistory.created_at, FileHistory.id)
    with sql_statements() as sent:
        rows = page_of(query, 2, 5).items
    assert [row.id for row in rows] == [row.id for row in made if row.file_path.startswith("In/")][5:10]
    fenced = any("AS matches" in statement for statement in sent)
    assert fenced == (db.engine.dialect.name == "postgresql")


def test_plain_pages_hold_the_chosen_attributes_with_uuids_and_timestamps_as_the_apis_text(world):
    workflow = make_workflow(world.users["owner"], "acme")
    for n in range(7):
        make_history(workflow, file_path=f"in/{n}.txt", metadata_={"n": n})
    execution = make_execution(workflow, status="COMPLETED")
    histories = file_history.histories_query(workflow).order_by(FileHistory.file_path, FileHistory.id)
    names = ("id", "workflow_id", "file_path", "metadata_", "execution_count", "created_at", "modified_at")
    objects, rows = page_rows(histories, 2, 3), page_rows(histories, 2, 3, columns=names)
    assert [row.metadata_ for row in rows] == [{"n": 2}, {"n": 3}, {"n": 4}]
    as_text = {uuid.UUID: str, datetime: wire_timestamp}
    assert [tuple(row) for row in rows] == [
        tuple(as_text.get(type(value), lambda v: v)(value) for value in (getattr(obj, name) for name in names))
        for obj in objects]
    assert all(type(row.id) is WireText and type(row.created_at) is WireText for row in rows)
    executions = select(Execution).where(Execution.workflow_id == workflow.id).order_by(Execution.id)
    with sql_statements() as sent:
        [row] = page_rows(executions, 0, 10, columns=("id", "status"))
    assert row == (str(execution.id), "COMPLETED") and row._fields == ("id", "status")
    assert "execution.plan" not in sent[0] and "execution.organization_id" not in sent[0]
