"""Bounded outputs on a real run (docs/EXECUTION.md, Output limits): an output above UNSTRACT_MAX_RESULT_BYTES
fails its file; text above UNSTRACT_MAX_TEXT_CHARS is cut in the tool process, with a WARN line."""

from __future__ import annotations

import uuid

from tests.engine.harness import run_jobs
from tests.factories import add_tool, configure, make_connector, make_workflow
from unstract.extensions import db
from unstract.models import Execution, ExecutionLog, FileExecution, FileHistory
from unstract.sizes import json_size


def _text_run(world, acme, storage_root, files: dict[str, str], *, use_file_history: bool = False) -> Execution:
    """Queue a run of text_extractor over `files` (name: text) in a folder, API destination."""
    (storage_root / "in").mkdir()
    for name, text in files.items():
        (storage_root / "in" / name).write_text(text)
    connector = make_connector(acme.id, "Local", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "text_extractor")
    response = world.api("owner").post("workflow/execute/", json={
        "workflow_id": str(workflow.id), "timeout": 0, "use_file_history": use_file_history})
    assert response.status_code == 202, response.json
    return db.session.get(Execution, uuid.UUID(response.json["execution_id"]))


def _files(execution: Execution) -> dict[str, FileExecution]:
    rows = db.session.scalars(db.select(FileExecution).where(FileExecution.execution_id == execution.id))
    return {row.file_name: row for row in rows}


def test_an_output_above_the_limit_fails_its_file_and_the_others_complete(world, acme, make_app, storage_root):
    app = make_app(UNSTRACT_MAX_RESULT_BYTES=1000)
    execution = _text_run(world, acme, storage_root, {"big.txt": "x" * 2000, "small.txt": "hello"},
                          use_file_history=True)
    run_jobs(app)
    big_output = {"text": "x" * 2000, "mime_type": "text/plain", "page_count": None, "truncated": False,
                  "pages": [{"page": 1, "method": "native", "chars": 2000}], "ocr_pages": 0}
    files = _files(execution)
    assert files["big.txt"].status == "ERROR" and files["big.txt"].result is None
    assert files["big.txt"].execution_error == f"Output too large: {json_size(big_output)} bytes (limit 1000)."
    assert files["small.txt"].status == "COMPLETED" and files["small.txt"].result["text"] == "hello"
    assert files["small.txt"].result_size == json_size(files["small.txt"].result)
    histories = {row.file_path: row for row in db.session.scalars(db.select(FileHistory))}
    assert histories["in/big.txt"].status == "ERROR" and histories["in/big.txt"].result_size == 0
    assert histories["in/small.txt"].result_size == files["small.txt"].result_size


def test_text_above_the_limit_is_cut_in_the_tool_process_with_a_warning(world, acme, make_app, storage_root):
    app = make_app(UNSTRACT_MAX_TEXT_CHARS=10)
    execution = _text_run(world, acme, storage_root, {"long.txt": "0123456789abcdef", "short.txt": "0123"})
    run_jobs(app)
    files = _files(execution)
    assert files["long.txt"].result["text"] == "0123456789" and files["long.txt"].result["truncated"] is True
    assert files["short.txt"].result["text"] == "0123" and files["short.txt"].result["truncated"] is False
    warnings = [(row.file_execution_id, row.data["log"]) for row in db.session.scalars(
        db.select(ExecutionLog).where(ExecutionLog.execution_id == execution.id, ExecutionLog.level == "WARN"))]
    assert warnings == [(files["long.txt"].id, "text_extractor: text truncated to 10 characters (of 16).")]
