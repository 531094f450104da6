"""File history as the engine writes and reads it (docs/EXECUTION.md, File history): counts, limits, reuse, expiry."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

from tests.engine.harness import INVOICE_RULES, run_jobs
from tests.factories import add_tool, configure, make_connector, make_workflow
from unstract.extensions import db
from unstract.models import Execution, ExecutionLog, FileHistory
from unstract.models.base import utcnow

REQUIRED_TOTAL = [{"name": "total", "pattern": r"Total: (\d+)", "group": 1, "type": "number", "required": True}]


def _folder_workflow(world, acme, storage_root, rules, **source):
    (storage_root / "in").mkdir(exist_ok=True)
    connector = make_connector(acme.id, f"Local {uuid.uuid4().hex[:6]}", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"], **source)
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "field_extractor", rules=rules)
    return workflow


def _run(app, world, workflow, **body) -> Execution:
    response = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0,
                                                                  **body})
    assert response.status_code == 202, response.json
    run_jobs(app)
    return db.session.get(Execution, uuid.UUID(response.json["execution_id"]))


def _logs(execution: Execution) -> list[str]:
    return [r.data["log"] for r in db.session.scalars(
        db.select(ExecutionLog).where(ExecutionLog.execution_id == execution.id).order_by(ExecutionLog.id))]


def test_failing_file_is_retried_until_the_limit_then_skipped(app, world, acme, storage_root):
    (storage_root / "in").mkdir()
    (storage_root / "in" / "bad.txt").write_text("no total here")
    workflow = _folder_workflow(world, acme, storage_root, REQUIRED_TOTAL)
    workflow.max_file_execution_count = 2
    db.session.commit()
    first = _run(app, world, workflow)
    assert first.status == "ERROR"
    assert first.error_message == "All 1 file(s) failed. First error: bad.txt: field_extractor: required " \
                                  "field 'total' not found."
    assert _run(app, world, workflow).total_files == 1  # ERROR below the limit: retried
    third = _run(app, world, workflow)
    assert third.total_files == 0 and third.status == "COMPLETED"
    assert "Skipping file 'in/bad.txt': it reached the maximum execution count (2)." in _logs(third)
    history = db.session.scalars(db.select(FileHistory)).one()
    assert (history.status, history.execution_count, history.result) == ("ERROR", 2, None)


def test_use_file_history_false_processes_again_and_counts(app, world, acme, storage_root):
    (storage_root / "in").mkdir()
    (storage_root / "in" / "ok.txt").write_text("Total: 5")
    workflow = _folder_workflow(world, acme, storage_root, REQUIRED_TOTAL)
    _run(app, world, workflow)
    again = _run(app, world, workflow, use_file_history=False)
    assert again.total_files == 1 and again.use_file_history is False
    assert db.session.scalars(db.select(FileHistory)).one().execution_count == 2


def test_history_older_than_the_interval_no_longer_skips(app, world, acme, storage_root):
    (storage_root / "in").mkdir()
    (storage_root / "in" / "ok.txt").write_text("Total: 5")
    workflow = _folder_workflow(world, acme, storage_root, REQUIRED_TOTAL,
                                fileReprocessingHandling="reprocess_after_interval", reprocessInterval=2)
    _run(app, world, workflow)
    assert _run(app, world, workflow).total_files == 0
    history = db.session.scalars(db.select(FileHistory)).one()
    history.modified_at = utcnow() - timedelta(days=3)
    db.session.commit()
    assert _run(app, world, workflow).total_files == 1


def test_changed_content_at_the_same_path_is_a_new_file(app, world, acme, storage_root):
    (storage_root / "in").mkdir()
    target = storage_root / "in" / "ok.txt"
    target.write_text("Total: 5")
    workflow = _folder_workflow(world, acme, storage_root, REQUIRED_TOTAL)
    _run(app, world, workflow)
    target.write_text("Total: 6")
    assert _run(app, world, workflow).total_files == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(FileHistory)) == 2


def test_upload_with_history_reuses_the_stored_result(app, world, acme):
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "API")
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    content = b"Invoice Number: INV-9\nTotal: 9\n"

    def upload():
        response = world.api("owner").post("workflow/execute/", data={
            "workflow_id": str(workflow.id), "timeout": "0", "use_file_history": "TRUE",
            "files": [(io.BytesIO(content), "a.txt")]}, content_type="multipart/form-data")
        run_jobs(app)
        return db.session.get(Execution, uuid.UUID(response.json["execution_id"]))

    upload()
    second = upload()
    assert second.status == "COMPLETED" and second.use_file_history is True
    assert "Reused the stored result for 'a.txt' (file history)." in _logs(second)
    history = db.session.scalars(db.select(FileHistory)).one()
    assert history.execution_count == 1 and history.path_key == "" and history.file_path is None
    result = world.api("owner").get(f"workflow/execution/{second.id}/files/").json["results"][0]["result"]
    assert result == {"invoice_number": "INV-9", "total": 9}
