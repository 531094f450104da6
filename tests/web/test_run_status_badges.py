"""Failures never look like success: a COMPLETED execution with failed files shows "Completed with errors"
(amber, with its counts) wherever the dashboard shows an execution's status; the API's value stays COMPLETED."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_execution, make_schedule
from tests.web.web_client import html
from unstract.extensions import db
from unstract.models import ApiDeployment, DeploymentRun
from unstract.services.run_status import display_status

PARTIAL = ('class="badge status-completed_with_errors">Completed with errors'
           '<span class="badge-detail">3 of 120 failed</span>')
CLEAN = 'class="badge status-completed">COMPLETED</span>'


@pytest.fixture
def partial_run(workflow):
    return make_execution(workflow, status="COMPLETED", total_files=120, successful_files=117, failed_files=3)


@pytest.mark.parametrize(("status", "failed", "total", "key", "label", "detail"), [
    ("COMPLETED", 3, 120, "completed_with_errors", "Completed with errors", "3 of 120 failed"),
    ("COMPLETED", 0, 120, "completed", "COMPLETED", ""),
    ("COMPLETED", 1200, 1200, "completed_with_errors", "Completed with errors", "1,200 of 1,200 failed"),
    ("ERROR", 5, 5, "error", "ERROR", ""),
    ("STOPPED", 2, 9, "stopped", "STOPPED", ""),
    ("EXECUTING", 1, 9, "executing", "EXECUTING", ""),
    (None, 0, 0, "unknown", "—", ""),
])
def test_one_rule_decides_the_displayed_status(status, failed, total, key, label, detail):
    shown = display_status(status, failed, total)
    assert (shown.key, shown.label, shown.detail) == (key, label, detail)


def test_execution_list_and_detail_show_completed_with_errors(owner, workflow, partial_run):
    make_execution(workflow, status="COMPLETED", total_files=4, successful_files=4)
    listing = html(owner.get(f"/workflows/{workflow.id}/executions"))
    assert PARTIAL in listing and CLEAN in listing
    assert PARTIAL in html(owner.get(f"/executions/{partial_run.id}"))
    live = html(owner.get(f"/executions/{partial_run.id}", fragment=True))  # the live-updating part
    assert 'id="exec-status"' in live and PARTIAL in live and CLEAN not in live


def test_the_api_keeps_its_completed_status(world, partial_run):
    answer = world.api("owner").get(f"workflow/execution/{partial_run.id}/")
    assert answer.status_code == 200 and answer.get_json()["status"] == "COMPLETED"


def test_workflow_list_last_run_is_amber(owner, workflow, partial_run):
    row = re.search(r'<td class="wf-last-run">(.*?)</td>', html(owner.get("/")), re.S).group(1)
    assert PARTIAL in row and "status-completed\"" not in row


def test_workflow_detail_schedule_last_run(owner, workflow, partial_run):
    make_schedule(workflow, last_execution_id=partial_run.id, last_run_status="COMPLETED")
    section = html(owner.get(f"/workflows/{workflow.id}"))
    assert re.search(r"<dt>Last run</dt><dd>[^<]*" + re.escape("<span " + PARTIAL), section)


def test_deployment_pages_show_recent_runs_with_errors(owner, world, workflow, partial_run):
    deployment = ApiDeployment(organization_id=workflow.organization_id, workflow_id=workflow.id,
                               display_name="Invoices API", api_name="invoices", created_by=workflow.created_by)
    db.session.add(deployment)
    db.session.flush()
    db.session.add(DeploymentRun(execution_id=partial_run.id, deployment_id=deployment.id))
    db.session.commit()
    assert PARTIAL in html(owner.get("/deployments"))
    assert PARTIAL in html(owner.get(f"/deployments/{deployment.id}"))


def test_retry_links_name_the_outcome(owner, workflow, partial_run):
    retry = make_execution(workflow, status="COMPLETED", total_files=3, failed_files=1, retry_of=partial_run.id)
    assert retry.retry_of == partial_run.id
    assert "(completed with errors)" in html(owner.get(f"/executions/{partial_run.id}"))
