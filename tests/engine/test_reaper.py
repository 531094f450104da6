"""Recovery of stuck executions (docs/EXECUTION.md, Recovery), one rule at a time, with real rows and a real queue."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner

from tests.engine.harness import INVOICE_RULES, invoice_folder, run_jobs
from tests.factories import add_tool, configure, make_workflow
from unstract.extensions import db
from unstract.models import Execution, ExecutionLog, FileExecution, FileHistory, FileReservation, Organization
from unstract.models.base import utcnow
from unstract.worker.reaper import reap_once

LONG_AGO = timedelta(hours=5)


@pytest.fixture
def folder_run(app, world, storage_root):
    """A folder workflow with three files, listed (PROCESSING) but with no file processed yet."""
    acme = db.session.scalar(db.select(Organization).where(Organization.org_id == "acme"))
    connector = invoice_folder(storage_root, acme.id, 3)
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "FILESYSTEM", connector, outputFolder="out")
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    response = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0})
    execution_id = uuid.UUID(response.json["execution_id"])
    from unstract.extensions import rq
    from unstract.worker.jobs import run_listing
    rq.queue().empty()
    run_listing(str(execution_id))
    rq.queue().empty()  # the fan-out is dropped: as if Redis lost the jobs
    return execution_id


def _files(execution_id):
    db.session.rollback()
    return db.session.scalars(db.select(FileExecution).where(FileExecution.execution_id == execution_id)
                              .order_by(FileExecution.file_number)).all()


def _crash_mid_file(fe: FileExecution, attempts: int) -> None:
    """The state a SIGKILLed worker leaves: EXECUTING, claimed, lease in the past."""
    fe.status, fe.attempts, fe.claim_token = "EXECUTING", attempts, uuid.uuid4()
    fe.lease_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def test_expired_file_lease_is_requeued_then_processed(app, folder_run):
    files = _files(folder_run)
    _crash_mid_file(files[0], attempts=1)
    for fe in files[1:]:
        fe.modified_at = utcnow() - LONG_AGO
    db.session.commit()
    result = reap_once()
    assert result.requeued == 3  # one expired lease (rule 1) and two orphaned PENDING files (rule 2)
    warnings = db.session.scalars(db.select(ExecutionLog).where(ExecutionLog.level == "WARN")
                                  .order_by(ExecutionLog.id)).all()
    assert [w.data["log"] for w in warnings] == [
        "Worker lost while processing '0.txt' (attempt 1 of 3); re-queued.",
        "Recovered: file '1.txt' was waiting with no job queued for it; re-queued.",
        "Recovered: file '2.txt' was waiting with no job queued for it; re-queued."]
    run_jobs(app)
    execution = db.session.get(Execution, folder_run)
    assert execution.status == "COMPLETED" and execution.successful_files == 3
    assert [f.attempts for f in _files(folder_run)] == [2, 1, 1]


def test_expired_lease_at_the_attempt_limit_fails_the_file_with_history(app, folder_run):
    files = _files(folder_run)
    _crash_mid_file(files[0], attempts=3)
    result = reap_once()
    assert result.failed == 1
    failed = _files(folder_run)[0]
    assert failed.status == "ERROR"
    assert failed.execution_error == "Processing was interrupted 3 times; giving up."
    history = db.session.scalars(db.select(FileHistory)).one()
    assert history.status == "ERROR" and history.execution_count == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(FileReservation)) == 2


def test_processing_execution_with_only_terminal_files_is_finalized(app, folder_run):
    for fe in _files(folder_run):
        fe.status = "COMPLETED"
    db.session.commit()
    assert reap_once().finalized == 1
    execution = db.session.get(Execution, folder_run)
    assert execution.status == "COMPLETED" and execution.successful_files == 3


def test_pending_execution_without_a_job_is_enqueued_again(app, world, folder_run):
    from unstract.extensions import rq

    execution = db.session.get(Execution, folder_run)
    other = Execution(workflow_id=execution.workflow_id, organization_id=execution.organization_id,
                      modified_at=utcnow() - LONG_AGO, created_at=utcnow() - LONG_AGO)
    db.session.add(other)
    db.session.commit()
    reap_once()
    assert f"listing-{other.id}" in rq.queue().job_ids
    assert _logs(other.id) == ["Recovered: the execution was waiting with no listing job queued; queued it again."]


def test_listing_lease_expired_goes_back_to_pending_or_fails_at_the_limit(app, folder_run):
    execution = db.session.get(Execution, folder_run)
    stuck = Execution(workflow_id=execution.workflow_id, organization_id=execution.organization_id,
                      status="EXECUTING", phase="LISTING", attempts=1,
                      lease_expires_at=utcnow() - timedelta(seconds=1))
    dead = Execution(workflow_id=execution.workflow_id, organization_id=execution.organization_id,
                     status="EXECUTING", phase="LISTING", attempts=3,
                     lease_expires_at=utcnow() - timedelta(seconds=1))
    db.session.add_all([stuck, dead])
    db.session.commit()
    reap_once()
    db.session.rollback()
    assert db.session.get(Execution, stuck.id).status == "PENDING"
    assert db.session.get(Execution, dead.id).status == "ERROR"
    assert db.session.get(Execution, dead.id).error_message == "Execution was interrupted 3 times; giving up."
    assert _logs(stuck.id) == ["Recovered: the listing was interrupted (attempt 1 of 3); listing again."]


def _logs(execution_id) -> list[str]:
    return [row.data["log"] for row in db.session.scalars(
        db.select(ExecutionLog).where(ExecutionLog.execution_id == execution_id).order_by(ExecutionLog.id))]


def test_step_execution_idle_too_long_times_out(app, folder_run):
    execution = db.session.get(Execution, folder_run)
    execution.phase, execution.awaiting_action = "AWAITING_ACTION", True
    execution.paused_at = utcnow() - timedelta(hours=4)
    db.session.commit()
    reap_once()
    db.session.rollback()
    execution = db.session.get(Execution, folder_run)
    assert execution.status == "ERROR"
    assert execution.error_message == "Step execution timed out waiting for an action."
    assert {f.status for f in _files(folder_run)} == {"ERROR"}


def test_reservations_of_finished_files_are_removed(app, folder_run):
    fe = _files(folder_run)[0]
    db.session.execute(db.update(FileExecution).where(FileExecution.id == fe.id).values(status="STOPPED"))
    db.session.commit()
    reap_once()
    held = db.session.scalars(db.select(FileReservation.file_execution_id)).all()
    assert fe.id not in held and len(held) == 2


def test_reap_command_prints_counts(app, base_env, folder_run):
    from unstract.cli import main

    for fe in _files(folder_run):
        fe.status = "COMPLETED"
    db.session.commit()
    result = CliRunner().invoke(main, ["reap"], env=base_env, catch_exceptions=False)
    assert result.exit_code == 0
    assert result.output.strip() == "requeued=0 failed=0 finalized=1"
