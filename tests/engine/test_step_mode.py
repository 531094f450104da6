"""Step mode (docs/EXECUTION.md, Step mode): START pauses before step 1, NEXT runs one step, CONTINUE the rest."""

from __future__ import annotations

import pytest

from tests.engine.harness import INVOICE_RULES, invoice_folder, run_jobs
from tests.factories import add_tool, configure, make_workflow
from unstract.extensions import db
from unstract.models import ExecutionLog, FileExecution, Organization


@pytest.fixture
def step_workflow(world, storage_root):
    acme = db.session.scalar(db.select(Organization).where(Organization.org_id == "acme"))
    connector = invoice_folder(storage_root, acme.id, 3, name="inv-{n}.txt")
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "FILESYSTEM", connector, outputFolder="out")
    add_tool(workflow, "text_extractor")
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    return str(workflow.id)


def _execute(api, workflow_id, **body):
    return api.post("workflow/execute/", json={"workflow_id": workflow_id, "timeout": 0, **body})


def test_start_pauses_before_the_first_step_without_holding_a_worker(app, world, step_workflow):
    api = world.api("owner")
    execution_id = _execute(api, step_workflow, execution_action="START").json["execution_id"]
    run_jobs(app)
    execution = api.get(f"workflow/execution/{execution_id}/").json
    assert execution["status"] == "EXECUTING" and execution["execution_type"] == "STEP"
    assert execution["awaiting_action"] is True and execution["next_step"] == 1
    assert execution["total_files"] == 3 and execution["total_steps"] == 2
    logs = api.get(f"workflow/execution/{execution_id}/logs/?file_execution_id=null").json["results"]
    assert logs[-1]["data"]["log"] == "Waiting for an action before step 1/2."


def test_next_runs_one_step_then_continue_finishes(app, world, step_workflow, storage_root):
    api = world.api("owner")
    execution_id = _execute(api, step_workflow, execution_action="START").json["execution_id"]
    run_jobs(app)
    response = _execute(api, step_workflow, execution_action="NEXT", execution_id=execution_id)
    assert response.status_code == 202
    run_jobs(app)
    execution = api.get(f"workflow/execution/{execution_id}/").json
    assert execution["awaiting_action"] is True and execution["next_step"] == 2
    step_logs = [r.data["log"] for r in db.session.scalars(db.select(ExecutionLog).where(
        ExecutionLog.stage == "TOOL", ExecutionLog.data["log"].as_string().like("Step 1/2%")))]
    assert len(step_logs) == 3 and '"mime_type": "text/plain"' in step_logs[0]
    assert not (storage_root / "out").exists()
    _execute(api, step_workflow, execution_action="CONTINUE", execution_id=execution_id)
    run_jobs(app)
    execution = api.get(f"workflow/execution/{execution_id}/").json
    assert execution["status"] == "COMPLETED" and execution["successful_files"] == 3
    assert execution["awaiting_action"] is False and execution["next_step"] is None
    assert len(list((storage_root / "out").rglob("*.json"))) == 3
    assert not (app.config["UNSTRACT_SETTINGS"].data_dir / "executions" / execution_id).exists()
    texts = db.session.scalars(db.select(FileExecution.extracted_text).order_by(FileExecution.file_number)).all()
    assert len(texts) == 3 and all("Invoice Number" in text for text in texts)  # step 1's, kept by its job


def test_next_while_a_step_runs_is_busy_and_on_complete_execution_invalid(app, world, step_workflow):
    api = world.api("owner")
    execution_id = _execute(api, step_workflow, execution_action="START").json["execution_id"]
    busy = _execute(api, step_workflow, execution_action="NEXT", execution_id=execution_id)
    assert busy.status_code == 409
    assert busy.json["errors"][0]["code"] == "execution_busy"
    run_jobs(app)
    complete_id = _execute(api, step_workflow).json["execution_id"]
    invalid = _execute(api, step_workflow, execution_action="NEXT", execution_id=complete_id)
    assert invalid.status_code == 400
    assert invalid.json["errors"][0] == {"code": "invalid_execution_id", "detail": "Invalid execution_id",
                                         "attr": "execution_id"}


def test_two_concurrent_next_calls_accept_exactly_one(app, world, step_workflow):
    api = world.api("owner")
    execution_id = _execute(api, step_workflow, execution_action="START").json["execution_id"]
    run_jobs(app)
    first = _execute(api, step_workflow, execution_action="NEXT", execution_id=execution_id)
    second = _execute(api, step_workflow, execution_action="NEXT", execution_id=execution_id)
    assert sorted([first.status_code, second.status_code]) == [202, 409]


def test_stop_while_awaiting_stops_every_file_and_finalizes(app, world, step_workflow):
    api = world.api("owner")
    execution_id = _execute(api, step_workflow, execution_action="START").json["execution_id"]
    run_jobs(app)
    response = _execute(api, step_workflow, execution_action="STOP", execution_id=execution_id)
    assert response.status_code == 200 and response.json["execution_status"] == "STOPPED"
    files = api.get(f"workflow/execution/{execution_id}/files/").json["results"]
    assert {f["status"] for f in files} == {"STOPPED"}


def test_stop_of_an_unclaimed_execution_stops_it_at_once(app, world, step_workflow):
    api = world.api("owner")
    execution_id = _execute(api, step_workflow).json["execution_id"]
    response = _execute(api, step_workflow, execution_action="STOP", execution_id=execution_id)
    assert response.status_code == 200 and response.json["execution_status"] == "STOPPED"
    run_jobs(app)  # the queued listing job finds nothing to claim
    assert api.get(f"workflow/execution/{execution_id}/").json["total_files"] == 0
