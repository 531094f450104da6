"""Runs: executions of every visible workflow, filtered by workflow, outcome (clean or with errors) and UTC dates."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.factories import acme_workflow, make_execution, make_workflow
from tests.web.web_client import html


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day + "T12:00:00").replace(tzinfo=UTC)


@pytest.fixture
def runs(world, workflow):
    receipts = acme_workflow(world, "Receipts")
    hidden = make_workflow(world.users["admin"], "acme", workflow_name="Payroll")  # not shared with the owner
    return {
        "clean": make_execution(workflow, status="COMPLETED", total_files=4, successful_files=4,
                                created_at=_at("2026-03-01")),
        "partial": make_execution(receipts, status="COMPLETED", total_files=120, failed_files=3,
                                  created_at=_at("2026-03-02")),
        "error": make_execution(workflow, status="ERROR", created_at=_at("2026-03-03")),
        "hidden": make_execution(hidden, status="COMPLETED", created_at=_at("2026-03-02")),
        "receipts": receipts,
    }


def _listed(page: str) -> set[str]:
    return set(re.findall(r'href="/executions/([0-9a-f-]{36})"', page))


def _ids(runs, *names) -> set[str]:
    return {str(runs[name].id) for name in names}


def test_runs_of_every_visible_workflow_newest_first(owner, runs):
    page = html(owner.get("/executions"))
    assert _listed(page) == _ids(runs, "clean", "partial", "error")
    assert page.index(str(runs["error"].id)) < page.index(str(runs["partial"].id)) < page.index(str(runs["clean"].id))
    assert "3 runs" in page and ">Receipts</td>" in page and "Payroll" not in page
    assert 'aria-current="page">Runs</a>' in page


def test_admins_see_every_workflow(app, runs):
    from tests.web.web_client import PageUser

    assert _listed(html(PageUser(app, "admin@acme.test").get("/executions"))) == _ids(
        runs, "clean", "partial", "error", "hidden")


@pytest.mark.parametrize(("query", "expected"), [
    ("?status=COMPLETED", ("clean",)),
    ("?status=COMPLETED_WITH_ERRORS", ("partial",)),
    ("?status=COMPLETED&status=ERROR", ("clean", "error")),
    ("?from=2026-03-02", ("partial", "error")),
    ("?to=2026-03-02", ("clean", "partial")),
    ("?from=2026-03-02&to=2026-03-02", ("partial",)),
])
def test_filters_by_outcome_and_date(owner, runs, query, expected):
    assert _listed(html(owner.get("/executions" + query))) == _ids(runs, *expected)


def test_filter_by_workflow(owner, runs):
    page = html(owner.get(f"/executions?workflow={runs['receipts'].id}"))
    assert _listed(page) == _ids(runs, "partial")
    assert f'<option value="{runs["receipts"].id}" selected>Receipts</option>' in page


def test_htmx_gets_the_list_alone(owner, runs):
    fragment = html(owner.get("/executions?status=ERROR", fragment=True))
    assert "<html" not in fragment and 'id="run-filters"' not in fragment
    assert _listed(fragment) == _ids(runs, "error")


@pytest.mark.parametrize(("query", "message"), [
    ("?status=DONE", "Status: Choose among"),
    ("?from=03/02/2026", "From: Enter a date as YYYY-MM-DD."),
    ("?to=2026-02-30", "To: Enter a date as YYYY-MM-DD."),
    ("?from=2026-03-03&to=2026-03-01", "To: The end date is before the start date."),
    ("?workflow=not-a-uuid", "Workflow: Choose a workflow from the list."),
])
def test_bad_filters_are_explained_not_500(owner, runs, query, message):
    response = owner.get("/executions" + query)
    assert response.status_code == 400 and message in html(response)


def test_an_invisible_workflow_is_refused_like_an_unknown_one(owner, runs):
    hidden_workflow = runs["hidden"].workflow_id
    response = owner.get(f"/executions?workflow={hidden_workflow}")
    assert response.status_code == 400 and "Choose a workflow from the list." in html(response)
    assert str(runs["hidden"].id) not in html(response)


def test_runs_page_needs_login(client, world):
    assert client.get("/executions").headers["Location"].startswith("/login")


def test_empty_states(owner, world):
    assert "No workflow has run yet." in html(owner.get("/executions"))
    assert "No runs match these filters." in html(owner.get("/executions?status=ERROR"))


def test_other_organizations_runs_never_show(owner, world, runs):
    elsewhere = make_workflow(world.users["outsider"], "other", workflow_name="Their invoices")
    theirs = make_execution(elsewhere, status="COMPLETED")
    page = html(owner.get("/executions"))
    assert str(theirs.id) not in page and "Their invoices" not in page
    refused = owner.get(f"/executions?workflow={elsewhere.id}")
    assert refused.status_code == 400 and str(theirs.id) not in html(refused)


@pytest.mark.parametrize("query", ["?page=99999999999999999999999", "?page=-3", "?from=%00", "?workflow=%00",
                                   "?status=%00", "?to=9999999-01-01"])
def test_odd_query_strings_are_answered_not_500(owner, runs, query):
    assert owner.get("/executions" + query).status_code in (200, 400)
