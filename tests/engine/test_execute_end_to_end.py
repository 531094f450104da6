"""Executions end to end: API call -> RQ jobs on a real worker -> rows, logs, destinations."""

from __future__ import annotations

import io
import json

import pytest

from tests.engine.harness import INVOICE_RULES, run_jobs
from tests.factories import add_tool, configure, make_connector, make_workflow
from unstract.extensions import db
from unstract.models import Execution, ExecutionLog, FileExecution, FileHistory

INVOICE_TXT = b"ACME Corp\nInvoice Number: INV-1001\nTotal: $1,250.50\n"


@pytest.fixture
def folder_workflow(world, acme, storage_root):
    """local_storage source folder `in` -> FILESYSTEM destination `out` on the same connector."""
    (storage_root / "in" / "sub").mkdir(parents=True)
    (storage_root / "in" / "a.txt").write_bytes(INVOICE_TXT)
    (storage_root / "in" / "sub" / "b.md").write_bytes(b"Invoice No. INV-2\nTotal: 3")
    (storage_root / "in" / ".hidden.txt").write_bytes(b"x")
    (storage_root / "in" / "noext").write_bytes(b"x")
    connector = make_connector(acme.id, "Local", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "FILESYSTEM", connector, outputFolder="out")
    add_tool(workflow, "text_extractor")
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    return workflow


def test_folder_run_completes_and_writes_one_json_per_file(app, world, folder_workflow, storage_root):
    api = world.api("owner")
    response = api.post("workflow/execute/", json={"workflow_id": str(folder_workflow.id), "timeout": 0})
    assert response.status_code == 202
    body = response.json
    assert set(body) == {"workflow_id", "execution_id", "execution_status", "log_id", "error", "result"}
    assert body["execution_status"] == "PENDING" and body["log_id"] == body["execution_id"]
    run_jobs(app)
    execution = api.get(f"workflow/execution/{body['execution_id']}/").json
    assert execution["status"] == "COMPLETED"
    assert (execution["total_files"], execution["successful_files"], execution["failed_files"]) == (2, 2, 0)
    written = json.loads((storage_root / "out" / "in" / "a.txt.json").read_text())
    assert written == {"invoice_number": "INV-1001", "total": 1250.5}
    assert (storage_root / "out" / "in" / "sub" / "b.md.json").exists()
    assert not list((storage_root / "out").rglob("*.tmp"))


def test_second_run_skips_processed_files_via_history(app, world, folder_workflow):
    api = world.api("owner")
    for _ in range(2):
        api.post("workflow/execute/", json={"workflow_id": str(folder_workflow.id), "timeout": 0})
        run_jobs(app)
    executions = db.session.scalars(db.select(Execution).order_by(Execution.created_at)).all()
    assert [e.total_files for e in executions] == [2, 0]
    assert executions[1].status == "COMPLETED"
    messages = [row.data["log"] for row in db.session.scalars(
        db.select(ExecutionLog).where(ExecutionLog.execution_id == executions[1].id))]
    assert "Skipping file 'in/a.txt' as it has already been processed. Clear the file markers to process it " \
           "again." in messages
    assert db.session.scalar(db.select(db.func.count()).select_from(FileHistory)) == 2


def test_upload_run_returns_results_for_api_destination(app, world, acme):
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "API")
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    api = world.api("owner")
    response = api.post("workflow/execute/", data={
        "workflow_id": str(workflow.id), "timeout": "0",
        "files": [(io.BytesIO(INVOICE_TXT), "inv.txt"), (io.BytesIO(INVOICE_TXT), "copy.txt")],
    }, content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    run_jobs(app)
    again = api.post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 1,
                                                "execution_id": response.json["execution_id"],
                                                "execution_action": "STOP"})
    assert again.status_code == 400  # terminal executions cannot be stopped
    files = db.session.scalars(db.select(FileExecution)).all()
    assert len(files) == 1 and files[0].status == "COMPLETED"
    assert files[0].result == {"invoice_number": "INV-1001", "total": 1250.5}


def test_run_logs_each_stage(app, world, folder_workflow):
    api = world.api("owner")
    execution_id = api.post("workflow/execute/", json={"workflow_id": str(folder_workflow.id),
                                                       "timeout": 0}).json["execution_id"]
    run_jobs(app)
    logs = api.get(f"workflow/execution/{execution_id}/logs/?page_size=1000").json["results"]
    stages = {row["data"]["stage"] for row in logs}
    assert stages >= {"INITIALIZE", "SOURCE", "PROCESSING", "TOOL", "DESTINATION", "FINALIZE"}
    assert logs[-1]["data"]["log"] == "Total files: 2, 2 successfully executed and 0 error(s)."
