"""SQL statements per list request: a fixed number whatever the rows on the page hold (no N+1 queries)."""

from __future__ import annotations

import itertools

import pytest
from flask import current_app

from tests.factories import (
    add_membership,
    make_connector,
    make_execution,
    make_file_execution,
    make_histories,
    make_log,
    make_workflow,
)
from tests.support import sql_statements
from unstract.extensions import db
from unstract.models import ToolInstance
from unstract.services import accounts

# Statements of a page that is not full: authentication (key, user, org and role in one query), the parent lookups,
# the page and the loaders of its related rows. A full page adds its count. The parent lookup is one query
# (an execution with its workflow's visibility; a workflow with the requester's ownership).
BUDGETS = {"workflows": 4, "executions": 3, "files": 3, "logs": 3, "file-histories": 4, "connectors": 2}
POSTGRES_EXTRA = {"logs": 1}  # the bound of a gap-free log tail (unstract.services.runlog)
NAMES = itertools.count()  # unique connector names across one test's calls


def count_statements(api, path: str) -> tuple[int, dict]:
    """Statements of one GET in a fresh session, as every real request has (after a first GET, so the
    key's once-a-minute last-use write is not counted)."""
    app = current_app._get_current_object()
    with app.app_context():
        assert api.get(path).status_code == 200
    with app.app_context(), sql_statements() as sent:
        response = api.get(path)
    assert response.status_code == 200, response.get_json()
    return len(sent), response.get_json()


def add_workflows(world, n: int) -> list:
    """Workflows of the owner, each with two viewers, a co-owner, a creator and two tool instances."""
    made = []
    for _ in range(n):
        workflow = make_workflow(world.users["owner"], "acme", viewers=[world.users["viewer"]])
        add_membership(workflow, world.users["member"])
        add_membership(workflow, world.users["admin"], "owner")
        db.session.add_all([ToolInstance(workflow_id=workflow.id, tool_id="text_extractor", step=1),
                            ToolInstance(workflow_id=workflow.id, tool_id="field_extractor", step=2)])
        db.session.commit()
        made.append(workflow)
    return made


def grow(world, kind: str, n: int) -> str:
    """Make `n` rows of one list (and what they refer to); returns the list's path."""
    if kind == "workflows":
        add_workflows(world, n)
        return "workflow/?page_size=50"
    if kind == "connectors":
        for _ in range(n):
            creator = ("owner", "viewer", "member", "admin")[next(NAMES) % 4]
            make_connector("acme", f"Store {next(NAMES)}", created_by=world.users[creator])
        return "connector/?page_size=50"
    workflow = add_workflows(world, 1)[0]
    execution = make_execution(workflow, status="COMPLETED")
    if kind == "executions":
        for _ in range(n - 1):
            make_execution(workflow, status="ERROR")
        return f"workflow/{workflow.id}/execution/?page_size=50"
    files = [make_file_execution(execution, status="COMPLETED") for _ in range(n)]
    if kind == "files":
        return f"workflow/execution/{execution.id}/files/?page_size=50"
    if kind == "logs":
        for k in range(n):
            make_log(execution, f"line {k}", file_execution=files[k] if k % 2 else None)
        return f"workflow/execution/{execution.id}/logs/?page_size=50"
    make_histories(workflow, n)
    return f"workflow/{workflow.id}/file-histories/?page_size=50"


KINDS = list(BUDGETS)


def budget(kind: str) -> int:
    return BUDGETS[kind] + (POSTGRES_EXTRA.get(kind, 0) if db.engine.dialect.name == "postgresql" else 0)


@pytest.mark.parametrize("kind", KINDS)
def test_list_request_sends_the_same_statements_for_one_row_and_for_many(world, kind):
    owner = world.api("owner")
    one = count_statements(owner, grow(world, kind, 1))
    many = count_statements(owner, grow(world, kind, 12))
    assert many[1]["count"] >= 12
    assert many[0] == one[0], f"{kind}: {one[0]} statements for one row, {many[0]} for {many[1]['count']}"
    assert many[0] <= budget(kind), f"{kind}: {many[0]} statements, budget {budget(kind)}"


@pytest.mark.parametrize("kind", KINDS)
def test_a_full_page_adds_only_its_count(world, kind):
    owner = world.api("owner")
    path = grow(world, kind, 12).replace("page_size=50", "page_size=5")
    full, body = count_statements(owner, path)
    last, last_body = count_statements(owner, path + "&page=3")
    assert body["count"] == last_body["count"] >= 12
    assert len(body["results"]) == 5 and last_body["previous"] is not None
    assert full == last + 1 <= budget(kind) + 1


def test_workflow_list_loads_related_rows_once_per_page_not_per_workflow(world):
    owner = world.api("owner")
    add_workflows(world, 6)
    with sql_statements() as sent:
        body = owner.get("workflow/?page_size=50").get_json()
    assert body["count"] == 6 and all(len(w["tool_instances"]) == 2 for w in body["results"])
    assert all(sorted(w["owner_emails"]) == ["admin@acme.test", "owner@acme.test"] for w in body["results"])
    assert sum("FROM tool_instance" in s for s in sent) == 1
    assert sum("FROM workflow_membership" in s and "EXISTS" not in s for s in sent) == 1


def test_members_list_is_one_page_query_plus_authentication(world):
    owner = world.api("owner")
    assert count_statements(owner, "member/")[0] <= 2
    accounts.add_user("late@acme.test", "password123", "acme", "member")
    assert count_statements(owner, "member/")[0] <= 2

