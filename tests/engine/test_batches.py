"""Files processed in batches per RQ job: the fan-out, the reaper's view of batches, and the heartbeat
that keeps a running batch's waiting files out of the reaper's hands (docs/EXECUTION.md, Batches; Recovery, rule 2)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from rq.job import Job, JobStatus

from tests.engine.harness import INVOICE_RULES, invoice_folder, run_jobs
from tests.factories import add_tool, configure, make_workflow
from unstract.extensions import db, rq
from unstract.models import Execution, FileExecution, Organization
from unstract.models.base import utcnow
from unstract.worker.jobs import process_files, run_listing
from unstract.worker.lease import waiting_files_heartbeat
from unstract.worker.reaper import reap_once

LONG_AGO = timedelta(hours=5)


@pytest.fixture
def listed(app, world, storage_root):
    """`listed(n)`: a folder run of n files, listed (PROCESSING), its batch jobs queued but not run."""
    acme = db.session.scalar(db.select(Organization).where(Organization.org_id == "acme"))

    def listing(files: int) -> uuid.UUID:
        connector = invoice_folder(storage_root, acme.id, files, name="{n:03}.txt")
        workflow = make_workflow(world.users["owner"], acme)
        configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"], maxFiles=1000)
        configure(workflow, "DESTINATION", "FILESYSTEM", connector, outputFolder="out")
        add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
        response = world.api("owner").post("workflow/execute/",
                                           json={"workflow_id": str(workflow.id), "timeout": 0})
        execution_id = uuid.UUID(response.json["execution_id"])
        rq.queue().empty()
        run_listing(str(execution_id))  # no worker is registered: the batch size assumes one
        return execution_id
    return listing


def files_of(execution_id):
    db.session.rollback()
    return db.session.scalars(db.select(FileExecution).where(FileExecution.execution_id == execution_id)
                              .order_by(FileExecution.file_number)).all()


def queued_jobs():
    return {job.id: job.args for job in rq.queue().get_jobs()}


def age(file_executions) -> None:
    db.session.execute(db.update(FileExecution).where(FileExecution.id.in_([fe.id for fe in file_executions]))
                       .values(modified_at=utcnow() - LONG_AGO))
    db.session.commit()


def test_listing_fans_out_consecutive_batches_covering_every_file_once(app, listed):
    execution_id = listed(40)
    files = files_of(execution_id)
    assert db.session.get(Execution, execution_id).plan["batch_size"] == 10  # 40 files / (4 x 1 worker)
    assert queued_jobs() == {
        f"files-{execution_id}-{index}": tuple(str(fe.id) for fe in files[index * 10:(index + 1) * 10])
        for index in range(4)}
    run_jobs(app)
    execution = db.session.get(Execution, execution_id)
    assert (execution.status, execution.successful_files, execution.failed_files) == ("COMPLETED", 40, 0)
    assert {(fe.status, fe.attempts) for fe in files_of(execution_id)} == {("COMPLETED", 1)}


def test_a_small_execution_gets_a_job_per_file_so_every_worker_can_help(app, listed):
    execution_id = listed(3)
    assert db.session.get(Execution, execution_id).plan["batch_size"] == 1
    assert sorted(queued_jobs()) == [f"files-{execution_id}-{index}" for index in range(3)]


def test_batch_size_is_capped_by_the_setting(app, make_app, listed):
    capped = make_app(UNSTRACT_FILE_BATCH_SIZE=4)
    with capped.app_context():
        execution_id = listed(40)
        assert db.session.get(Execution, execution_id).plan["batch_size"] == 4
        assert len(queued_jobs()) == 10


def test_queued_batch_jobs_cover_their_stale_files(app, listed):
    """A long backlog: files wait longer than a lease, but their batch job is still queued."""
    execution_id = listed(40)
    age(files_of(execution_id))
    assert reap_once().requeued == 0
    assert len(queued_jobs()) == 4


def test_files_of_a_lost_batch_job_are_requeued_one_job_each_and_run_once(app, listed):
    execution_id = listed(40)
    files = files_of(execution_id)
    age(files)
    Job.fetch(f"files-{execution_id}-1", connection=rq.connection()).delete()  # as if Redis lost it
    assert reap_once().requeued == 10
    lost = files[10:20]
    assert {job_id for job_id in queued_jobs() if job_id.startswith("file-")} == {f"file-{fe.id}" for fe in lost}
    assert reap_once().requeued == 0  # re-queued files count as changed for another lease
    run_jobs(app)
    execution = db.session.get(Execution, execution_id)
    assert (execution.status, execution.successful_files) == ("COMPLETED", 40)
    assert {fe.attempts for fe in files_of(execution_id)} == {1}


def test_a_batch_job_left_started_by_a_dead_worker_does_not_hold_its_files(app, listed):
    """RQ still says STARTED for a job whose worker was killed; its files stopped being refreshed."""
    execution_id = listed(40)
    age(files_of(execution_id)[:10])
    Job.fetch(f"files-{execution_id}-0", connection=rq.connection()).set_status(JobStatus.STARTED)
    assert reap_once().requeued == 10


def test_a_running_batch_keeps_its_waiting_files_fresh(app, listed):
    execution_id = listed(40)
    files = files_of(execution_id)
    age(files)
    waiting = [fe.id for fe in files[:5]]
    with waiting_files_heartbeat(app, waiting, lease=1):  # renewed every 1/3 s
        time.sleep(1.0)
        waiting.clear()  # every file taken: nothing is refreshed any more
        time.sleep(0.5)
    fresh = {fe.id for fe in files_of(execution_id) if fe.modified_at > utcnow() - timedelta(seconds=5)}
    assert fresh == {fe.id for fe in files[:5]}
    assert reap_once().requeued == 0  # the other 35 are still covered by their queued batch jobs


def test_a_batch_passes_over_a_file_another_job_took(app, listed):
    execution_id = listed(8)  # 2 files per batch
    files = files_of(execution_id)
    taken = files[0]
    db.session.execute(db.update(FileExecution).where(FileExecution.id == taken.id)
                       .values(status="EXECUTING", claim_token=uuid.uuid4(), attempts=1))
    db.session.commit()
    process_files(str(files[0].id), str(files[1].id))
    first, second = files_of(execution_id)[:2]
    assert (first.status, first.attempts, first.result) == ("EXECUTING", 1, None)
    assert (second.status, second.attempts) == ("COMPLETED", 1)
    assert db.session.get(Execution, execution_id).successful_files == 1


def count_statements(action) -> tuple[int, int]:
    """Statements and commits the application's engine sends while `action` runs (the lease keeper aside)."""
    from sqlalchemy import event

    counts = {"statements": 0, "commits": 0}

    def statement(*_args):
        counts["statements"] += 1

    def commit(*_args):
        counts["commits"] += 1

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "commit", commit)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.engine, "commit", commit)
    return counts["statements"], counts["commits"]


def test_a_file_in_a_batch_costs_a_fixed_number_of_statements(app, listed):
    """One tool and a folder destination. Per file: the claim, its log rows and the previous file's
    outcome in one transaction; the stop checks before the tool and before the write; then the outcome,
    history, reservation and counter rows, left for the next claim to commit. Per batch: taking the
    batch, reading the execution, the last commit, the finalization check."""
    execution_id = listed(40)
    files = [str(fe.id) for fe in files_of(execution_id)]
    small = count_statements(lambda: process_files(*files[:5]))
    large = count_statements(lambda: process_files(*files[5:20]))
    per_file = ((large[0] - small[0]) / 10, (large[1] - small[1]) / 10)
    tail_lock = db.engine.dialect.name == "postgresql"  # each commit of log rows takes it (runlog)
    assert per_file == (8 + tail_lock, 1)
    assert small == (4 + tail_lock + 5 * (8 + tail_lock), 5 + 1)


def test_a_stopping_worker_hands_the_files_it_has_not_started_back(app, listed):
    from unstract.worker.context import shutdown_requested

    execution_id = listed(8)
    files = files_of(execution_id)
    rq.queue().empty()
    shutdown_requested.set()
    try:
        process_files(*(str(fe.id) for fe in files[:2]))
    finally:
        shutdown_requested.clear()
    assert {fe.status for fe in files_of(execution_id)} == {"PENDING"}
    assert sorted(queued_jobs()) == sorted(f"file-{fe.id}" for fe in files[:2])
    run_jobs(app)
    assert [fe.status for fe in files_of(execution_id)][:2] == ["COMPLETED", "COMPLETED"]


def test_identities_held_by_another_run_are_skipped_and_the_rest_numbered_without_gaps(app, world, storage_root):
    from unstract.models import ExecutionLog

    acme = db.session.scalar(db.select(Organization).where(Organization.org_id == "acme"))
    connector = invoice_folder(storage_root, acme.id, 6)
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "DESTINATION", "API")

    def list_with(max_files: int) -> uuid.UUID:
        configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"], maxFiles=max_files)
        response = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0})
        execution_id = uuid.UUID(response.json["execution_id"])
        run_listing(str(execution_id))
        return execution_id

    first = list_with(3)  # holds the reservations of 0.txt, 1.txt and 2.txt until its files end
    second = list_with(6)
    assert [(fe.file_number, fe.file_path) for fe in files_of(second)] == [(1, "in/3.txt"), (2, "in/4.txt"),
                                                                          (3, "in/5.txt")]
    assert db.session.get(Execution, second).total_files == 3
    messages = db.session.scalars(db.select(ExecutionLog.data["log"].as_string()).where(
        ExecutionLog.execution_id == second).order_by(ExecutionLog.id)).all()
    assert [m for m in messages if "being processed" in m] == [
        f"Skipping file 'in/{n}.txt': it is being processed by execution {first}." for n in range(3)]


def test_history_written_after_the_first_look_is_seen_once_the_reservation_is_held(app, listed):
    """The race the second history check closes: another run completes a file between our hashing and
    our reservation. The row is dropped with its reservation and the survivors keep consecutive numbers."""
    from unstract.connectors.filestore import FileEntry
    from unstract.models import FileReservation
    from unstract.services import file_outcomes
    from unstract.services.execution_state import run_log
    from unstract.worker.context import job_context
    from unstract.worker.listing import Candidate, HistoryRules, _reserve_chunk

    execution_id = listed(2)  # a workflow and an execution to list into (its own 2 files are not used)
    execution = db.session.get(Execution, execution_id)
    candidates = [Candidate(FileEntry(f"x/{n}.txt", 10, None), f"{n:064x}", 10) for n in range(4)]
    done = FileExecution(execution_id=execution_id, file_number=99, status="COMPLETED", file_name="1.txt",
                         file_path="x/1.txt", file_hash=f"{1:064x}", mime_type="text/plain")
    db.session.add(done)
    db.session.flush()
    file_outcomes.record_outcome(execution.workflow_id, done, "COMPLETED", result={})
    kept = _reserve_chunk(execution, candidates, 3, HistoryRules(execution, {}, job_context()), run_log(execution))
    db.session.commit()
    rows = {fe.id: fe for fe in files_of(execution_id)}
    assert [(rows[fe_id].file_number, rows[fe_id].file_path) for fe_id in kept] == [
        (3, "x/0.txt"), (4, "x/2.txt"), (5, "x/3.txt")]
    assert "x/1.txt" not in {fe.file_path for fe in rows.values() if fe.file_number != 99}
    held = set(db.session.scalars(db.select(FileReservation.file_execution_id)))
    assert set(kept) <= held and len(held & {fe.id for fe in rows.values() if fe.file_path == "x/1.txt"}) == 0


def test_a_listing_capped_by_max_files_records_how_many_files_wait_for_the_next_run(app, world, storage_root):
    from unstract.models import ExecutionLog

    acme = db.session.scalar(db.select(Organization).where(Organization.org_id == "acme"))
    connector = invoice_folder(storage_root, acme.id, 7)
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "DESTINATION", "API")

    def list_with(max_files: int) -> Execution:
        configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"], maxFiles=max_files)
        response = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0})
        run_listing(response.json["execution_id"])
        db.session.rollback()
        return db.session.get(Execution, uuid.UUID(response.json["execution_id"]))

    capped = list_with(3)
    assert capped.total_files == 3
    assert (capped.run_plan.capped.max_files, capped.run_plan.capped.left) == (3, 4)
    assert "Max files to process is 3: up to 4 more matching file(s) are left for the next run." in \
        db.session.scalars(db.select(ExecutionLog.data["log"].as_string())
                           .where(ExecutionLog.execution_id == capped.id)).all()
    # The other 4 files are held by the first run: the second selects them all and nothing is left.
    assert list_with(10).run_plan.capped is None
    assert list_with(4).total_files == 0


def test_a_plan_that_calls_an_llm_runs_its_files_side_by_side_one_wave_per_job(make_app):
    """Lanes only for plans with an I/O-bound tool; their jobs carry one wave (lanes) of files."""
    from unstract.models.plan import ExecutionPlan, ToolStep
    from unstract.worker.context import job_context
    from unstract.worker.listing import batch_size
    from unstract.worker.runner import file_lanes

    llm = ExecutionPlan(tools=(ToolStep("text_extractor", {}), ToolStep("llm_extractor", {})))
    regex = ExecutionPlan(tools=(ToolStep("text_extractor", {}), ToolStep("field_extractor", {})))
    app = make_app(UNSTRACT_FILE_CONCURRENCY=6)
    with app.app_context():
        settings, ctx = app.config["UNSTRACT_SETTINGS"], job_context()
        assert file_lanes(llm, settings, 100) == 6 and file_lanes(llm, settings, 4) == 4
        assert file_lanes(regex, settings, 100) == 1
        assert batch_size(100, ctx, llm) == 6  # no worker registered: counted as one
        assert batch_size(3, ctx, llm) == 3
        assert batch_size(1000, ctx, regex) == 16  # UNSTRACT_FILE_BATCH_SIZE, as before
