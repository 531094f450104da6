"""A tool that raises or hangs fails its own file only (docs/EXECUTION.md, Tools); the others complete."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.engine.harness import run_jobs
from tests.factories import add_tool, configure, make_connector, make_workflow
from unstract.extensions import db
from unstract.models import Execution, FileExecution, Organization

# Exponential backtracking: "a"*40 + "!" would run for days; only killing the tool process stops it.
HANGING_RULE = {"name": "hang", "pattern": r"^(a+)+$", "group": 0}


@pytest.mark.slow
def test_hanging_tool_times_out_and_other_files_complete(world, make_app, storage_root):
    app = make_app(UNSTRACT_TOOL_TIMEOUT_SECONDS=3)
    acme = db.session.scalar(db.select(Organization).where(Organization.org_id == "acme"))
    (storage_root / "in").mkdir()
    (storage_root / "in" / "1-hangs.txt").write_text("a" * 40 + "!")
    (storage_root / "in" / "2-fine.txt").write_text("fine")
    (storage_root / "in" / "3-broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    connector = make_connector(acme.id, "Local", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "text_extractor")
    add_tool(workflow, "field_extractor", rules=[HANGING_RULE])
    response = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0})
    started = time.monotonic()
    run_jobs(app)
    assert time.monotonic() - started < 60
    execution = db.session.get(Execution, uuid.UUID(response.json["execution_id"]))
    files = {f.file_name: f for f in db.session.scalars(db.select(FileExecution))}
    assert execution.status == "COMPLETED" and (execution.successful_files, execution.failed_files) == (1, 2)
    assert files["1-hangs.txt"].execution_error == "field_extractor: Timed out after 3 s."
    assert files["2-fine.txt"].result == {"hang": None}
    assert files["3-broken.pdf"].execution_error.startswith("text_extractor: Cannot read PDF: ")
