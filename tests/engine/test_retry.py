"""Retrying failed files (docs/EXECUTION.md, Retrying failed files), through real RQ worker runs."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest

from tests.engine.harness import run_jobs
from tests.factories import add_tool, configure, make_connector, make_execution, make_file_execution, make_workflow
from unstract.extensions import db
from unstract.models import Execution, ExecutionLog, FileExecution, FileHistory
from unstract.services import retries

REQUIRED_TOTAL = [{"name": "total", "pattern": r"Total: (\d+)", "group": 1, "type": "number", "required": True}]


def _folder_workflow(world, acme, storage_root, **source):
    connector = make_connector(acme.id, f"Local {uuid.uuid4().hex[:6]}", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], acme, viewers=[world.users["viewer"]])
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"], **source)
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "field_extractor", rules=REQUIRED_TOTAL)
    return workflow


def _upload_workflow(world, acme):
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "API")
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "field_extractor", rules=REQUIRED_TOTAL)
    return workflow


def _execute(app, world, workflow) -> dict:
    response = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0})
    assert response.status_code == 202, response.json
    run_jobs(app)
    return world.api("owner").get(f"workflow/execution/{response.json['execution_id']}/").json


def _files(execution_id) -> list[FileExecution]:
    return list(db.session.scalars(db.select(FileExecution).where(FileExecution.execution_id == uuid.UUID(
        str(execution_id))).order_by(FileExecution.file_number)))


def _logs(execution_id) -> list[str]:
    return [row.data["log"] for row in db.session.scalars(db.select(ExecutionLog).where(
        ExecutionLog.execution_id == uuid.UUID(str(execution_id))).order_by(ExecutionLog.id))]


def test_a_file_fixed_on_disk_is_retried_alone_and_history_does_not_skip_it(app, world, acme, storage_root):
    (storage_root / "in").mkdir()
    (storage_root / "in" / "good.txt").write_text("Total: 5")
    (storage_root / "in" / "bad.txt").write_text("no total here")
    workflow = _folder_workflow(world, acme, storage_root)
    workflow.max_file_execution_count = 1  # the failed file reached the limit: a normal run would skip it
    db.session.commit()
    first = _execute(app, world, workflow)
    assert (first["status"], first["successful_files"], first["failed_files"]) == ("COMPLETED", 1, 1)
    assert first["retry_of"] is None

    (storage_root / "in" / "bad.txt").write_text("Total: 7")  # fixed on disk
    response = world.api("viewer").post(f"workflow/execution/{first['id']}/retry/")
    assert response.status_code == 202, response.json
    retry = response.json
    assert retry["retry_of"] == first["id"] and retry["status"] == "PENDING"
    assert retry["workflow"] == str(workflow.id) and retry["execution_type"] == "COMPLETE"
    assert set(retry) == set(first)
    run_jobs(app)

    done = world.api("owner").get(f"workflow/execution/{retry['id']}/").json
    assert (done["status"], done["total_files"], done["successful_files"]) == ("COMPLETED", 1, 1)
    [fixed] = _files(retry["id"])
    assert (fixed.file_path, fixed.status, fixed.result) == ("in/bad.txt", "COMPLETED", {"total": 7})
    assert f"Retrying 1 failed file(s) of execution {first['id']}; selected 1 for processing." in _logs(retry["id"])
    rows = db.session.scalars(db.select(FileHistory).where(FileHistory.file_path == "in/bad.txt")).all()
    # New content is a new identity: the old one keeps its ERROR, the fixed one is recorded COMPLETED.
    assert sorted((row.status, row.execution_count) for row in rows) == [("COMPLETED", 1), ("ERROR", 1)]
    # Both directions of the link: the retry names the old run, and the retry has nothing left to retry.
    assert world.api("owner").post(f"workflow/execution/{retry['id']}/retry/").json["errors"][0]["code"] \
        == "nothing_to_retry"


def test_a_failed_file_deleted_from_the_source_fails_again_as_not_found(app, world, acme, storage_root):
    (storage_root / "in").mkdir()
    (storage_root / "in" / "bad.txt").write_text("no total here")
    workflow = _folder_workflow(world, acme, storage_root)
    first = _execute(app, world, workflow)
    assert first["status"] == "ERROR"
    (storage_root / "in" / "bad.txt").unlink()
    retry = world.api("owner").post(f"workflow/execution/{first['id']}/retry/").json
    run_jobs(app)
    [gone] = _files(retry["id"])
    assert (gone.status, gone.execution_error) == ("ERROR", "Source file not found: in/bad.txt.")


def test_uploads_of_failed_files_are_kept_and_retried_without_history_reuse(app, world, acme):
    workflow = _upload_workflow(world, acme)
    api = world.api("owner")
    response = api.post("workflow/execute/", data={
        "workflow_id": str(workflow.id), "timeout": "0", "use_file_history": "true",
        "files": [(io.BytesIO(b"Total: 3"), "ok.txt"), (io.BytesIO(b"nothing"), "bad.txt")],
    }, content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    run_jobs(app)
    first_id = response.json["execution_id"]
    ok, bad = _files(first_id)
    assert (ok.status, bad.status) == ("COMPLETED", "ERROR")
    upload_dir = app.config["UNSTRACT_SETTINGS"].data_dir / "uploads" / first_id
    assert sorted(p.name for p in upload_dir.iterdir()) == [bad.staged_path.rsplit("/", 1)[-1]]

    retry = api.post(f"workflow/execution/{first_id}/retry/")
    assert retry.status_code == 202, retry.json
    run_jobs(app)
    [again] = _files(retry.json["id"])
    assert (again.file_name, again.status) == ("bad.txt", "ERROR")  # same content, same failure: run again
    assert "Reused the stored result" not in " ".join(_logs(retry.json["id"]))
    history = db.session.scalar(db.select(FileHistory).where(FileHistory.cache_key == bad.file_hash))
    assert history.execution_count == 2


def test_uploads_expire_after_the_retention_hours(app, world, acme):
    workflow = _upload_workflow(world, acme)
    api = world.api("owner")
    response = api.post("workflow/execute/", data={
        "workflow_id": str(workflow.id), "timeout": "0", "files": [(io.BytesIO(b"nothing"), "bad.txt")],
    }, content_type="multipart/form-data")
    run_jobs(app)
    execution = db.session.get(Execution, uuid.UUID(response.json["execution_id"]))
    hours = app.config["UNSTRACT_SETTINGS"].retry_upload_hours
    assert hours == 24
    assert not retries.uploads_expired(execution, hours)
    execution.created_at -= timedelta(hours=hours + 1)
    db.session.commit()
    refused = api.post(f"workflow/execution/{execution.id}/retry/")
    assert refused.status_code == 409
    assert refused.json["errors"][0]["code"] == "uploads_expired"


def test_refusals_busy_nothing_to_retry_and_other_orgs(app, world, acme, storage_root):
    workflow = _folder_workflow(world, acme, storage_root)
    running = make_execution(workflow, status="EXECUTING", phase="PROCESSING")
    make_file_execution(running, status="ERROR")
    busy = world.api("owner").post(f"workflow/execution/{running.id}/retry/")
    assert (busy.status_code, busy.json["errors"][0]["code"]) == (409, "execution_busy")
    clean = make_execution(workflow, status="COMPLETED", total_files=1, successful_files=1)
    make_file_execution(clean, status="COMPLETED")
    nothing = world.api("owner").post(f"workflow/execution/{clean.id}/retry/")
    assert (nothing.status_code, nothing.json["errors"][0]["code"]) == (400, "nothing_to_retry")
    failed = make_execution(workflow, status="ERROR", total_files=1, failed_files=1)
    make_file_execution(failed, status="ERROR")
    assert world.api("outsider", org_id="other").post(f"workflow/execution/{failed.id}/retry/").status_code == 404
    assert world.api("member").post(f"workflow/execution/{failed.id}/retry/").status_code == 404  # not visible
    assert world.api("owner").post(f"workflow/execution/{uuid.uuid4()}/retry/").status_code == 404
    read_only = world.api("owner", tier="read").post(f"workflow/execution/{failed.id}/retry/")
    assert read_only.status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)
                             .where(Execution.retry_of.is_not(None))) == 0


def test_a_file_at_its_execution_limit_is_skipped_by_a_run_but_not_by_a_retry(app, world, acme, storage_root):
    (storage_root / "in").mkdir()
    (storage_root / "in" / "bad.txt").write_text("no total here")
    workflow = _folder_workflow(world, acme, storage_root)
    workflow.max_file_execution_count = 1
    db.session.commit()
    first = _execute(app, world, workflow)
    assert _execute(app, world, workflow)["total_files"] == 0  # history skips it
    retry = world.api("owner").post(f"workflow/execution/{first['id']}/retry/").json
    run_jobs(app)
    assert [fe.status for fe in _files(retry["id"])] == ["ERROR"]
    assert db.session.scalars(db.select(FileHistory)).one().execution_count == 2


def test_a_chosen_failed_file_is_retried_alone_and_other_choices_are_refused(app, world, acme, storage_root):
    from unstract import errors
    from unstract.policy import Requester

    (storage_root / "in").mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (storage_root / "in" / name).write_text("no total here")
    (storage_root / "in" / "ok.txt").write_text("Total: 1")
    workflow = _folder_workflow(world, acme, storage_root)
    first = _execute(app, world, workflow)
    assert first["failed_files"] == 3
    by_path = {fe.file_path: fe for fe in _files(first["id"])}
    who = Requester(user=world.users["owner"], org=acme, role="member")
    settings = app.config["UNSTRACT_SETTINGS"]

    (storage_root / "in" / "b.txt").write_text("Total: 2")
    retry = retries.retry(who, uuid.UUID(first["id"]), settings, only=[by_path["in/b.txt"].id])
    run_jobs(app)
    assert [(fe.file_path, fe.status) for fe in _files(retry.id)] == [("in/b.txt", "COMPLETED")]

    for chosen in ([by_path["in/ok.txt"].id], [uuid.uuid4()], []):  # completed, not of this run, nothing
        with pytest.raises(errors.ValidationFailed) as refused:
            retries.retry(who, uuid.UUID(first["id"]), settings, only=chosen)
        message = refused.value.messages[0]
        assert message.code == "nothing_to_retry" and "chosen files" in message.detail
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)
                             .where(Execution.retry_of.is_not(None))) == 1
