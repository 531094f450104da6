"""The scheduler pass (services/scheduler.py) on a real database and queue, driven by a set clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.engine.harness import INVOICE_RULES, invoice_folder, run_jobs
from tests.factories import add_tool, configure, make_workflow
from unstract.extensions import db, rq
from unstract.models import Execution, Organization, OrgMembership, Schedule, ScheduleRun, Status
from unstract.services import scheduler
from unstract.services.scheduler import run_due

NOON = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings(app):
    return app.config["UNSTRACT_SETTINGS"]


@pytest.fixture
def flow(app, world, storage_root):
    """A runnable folder workflow of acme's `owner`."""
    acme = db.session.scalar(db.select(Organization).where(Organization.org_id == "acme"))
    connector = invoice_folder(storage_root, acme.id, 2)
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "FILESYSTEM", connector, outputFolder="out")
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    rq.queue().empty()
    yield workflow
    rq.queue().empty()


def schedule_of(workflow, world, due: datetime, cron: str = "0 * * * *", **fields) -> Schedule:
    fields = {"created_by": world.users["owner"].id, **fields}
    schedule = Schedule(organization_id=workflow.organization_id, workflow_id=workflow.id, cron=cron,
                        timezone="UTC", next_run_at=due, **fields)
    db.session.add(schedule)
    db.session.commit()
    return schedule


def runs(schedule) -> list[ScheduleRun]:
    db.session.rollback()
    return db.session.scalars(db.select(ScheduleRun).where(ScheduleRun.schedule_id == schedule.id)
                              .order_by(ScheduleRun.due_at)).all()


def fresh(schedule) -> Schedule:
    db.session.rollback()
    return db.session.get(Schedule, schedule.id, populate_existing=True)


def test_a_due_time_starts_one_execution_as_the_creator_and_moves_on(settings, world, flow):
    schedule = schedule_of(flow, world, NOON)
    assert run_due(settings, now=NOON - timedelta(seconds=1)).started == []
    result = run_due(settings, now=NOON + timedelta(seconds=2))
    assert len(result.started) == 1
    [run] = runs(schedule)
    assert (run.due_at, run.status, run.reason) == (NOON, "STARTED", "")
    execution = db.session.get(Execution, run.execution_id)
    assert execution.workflow_id == flow.id and execution.created_by == world.users["owner"].id
    schedule = fresh(schedule)
    assert schedule.next_run_at == NOON + timedelta(hours=1) and schedule.last_execution_id == execution.id
    assert schedule.last_run_at == NOON + timedelta(seconds=2) and schedule.last_run_status == "STARTED"
    assert run_due(settings, now=NOON + timedelta(seconds=3)).started == []  # never twice
    assert len(runs(schedule)) == 1


def test_the_claim_is_unique_per_due_time_in_the_database(settings, world, flow):
    """A second claim of a due time loses: next_run_at has moved on, and were it set back, the
    (schedule, due time) row exists and its unique constraint rolls the claim back."""
    schedule = schedule_of(flow, world, NOON)
    assert len(scheduler._claim_due(NOON)) == 1
    assert scheduler._claim_due(NOON) == []  # the conditional update finds next_run_at moved
    db.session.execute(db.update(Schedule).where(Schedule.id == schedule.id).values(next_run_at=NOON))
    db.session.commit()
    assert scheduler._claim_due(NOON) == []  # the unique constraint refuses the same due time
    assert len(runs(schedule)) == 1 and fresh(schedule).next_run_at == NOON


def test_after_downtime_one_catch_up_run_starts(settings, world, flow):
    schedule = schedule_of(flow, world, NOON - timedelta(days=3))
    result = run_due(settings, now=NOON + timedelta(minutes=20))
    assert len(result.started) == 1
    assert [r.due_at for r in runs(schedule)] == [NOON - timedelta(days=3)]
    assert fresh(schedule).next_run_at == NOON + timedelta(hours=1)


def test_an_inactive_workflow_skips_and_says_why(settings, world, flow):
    flow.is_active = False
    db.session.commit()
    schedule = schedule_of(flow, world, NOON)
    assert len(run_due(settings, now=NOON).skipped) == 1
    [run] = runs(schedule)
    assert (run.status, run.reason, run.execution_id) == ("SKIPPED", "Workflow is inactive.", None)
    assert fresh(schedule).last_run_status == "SKIPPED"
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)) == 0


def test_a_run_still_going_is_not_overlapped_unless_allowed(app, settings, world, flow):
    schedule = schedule_of(flow, world, NOON)
    run_due(settings, now=NOON)
    first = fresh(schedule).last_execution_id
    assert db.session.get(Execution, first).status == Status.PENDING  # no worker ran it yet
    assert len(run_due(settings, now=NOON + timedelta(hours=1)).skipped) == 1
    skipped = runs(schedule)[-1]
    assert skipped.status == "SKIPPED" and f"execution {first}) is still PENDING" in skipped.reason
    assert fresh(schedule).last_execution_id == first
    fresh(schedule).allow_overlap = True
    db.session.commit()
    assert len(run_due(settings, now=NOON + timedelta(hours=2)).started) == 1
    run_jobs(app)
    assert len(run_due(settings, now=NOON + timedelta(hours=3)).started) == 1


def test_a_finished_previous_run_does_not_block_the_next(app, settings, world, flow):
    schedule = schedule_of(flow, world, NOON)
    run_due(settings, now=NOON)
    run_jobs(app)
    assert db.session.get(Execution, fresh(schedule).last_execution_id).status == Status.COMPLETED
    assert len(run_due(settings, now=NOON + timedelta(hours=1)).started) == 1


def test_a_workflow_that_cannot_start_fails_the_run_with_the_reason(settings, world, flow):
    source = flow.endpoint("SOURCE")
    source.connection_type, source.connector_instance_id, source.configuration = "", None, None
    db.session.commit()
    schedule = schedule_of(flow, world, NOON)
    assert len(run_due(settings, now=NOON).failed) == 1
    [run] = runs(schedule)
    assert run.status == "FAILED" and run.reason and run.execution_id is None


def test_a_creator_who_left_the_organization_fails_the_run(settings, world, flow):
    schedule = schedule_of(flow, world, NOON)
    db.session.execute(db.delete(OrgMembership).where(OrgMembership.user_id == world.users["owner"].id))
    db.session.commit()
    run_due(settings, now=NOON)
    assert runs(schedule)[0].reason == scheduler.CREATOR_GONE


def test_a_paused_schedule_never_fires(settings, world, flow):
    schedule = schedule_of(flow, world, NOON, is_active=False)
    assert run_due(settings, now=NOON + timedelta(days=1)).started == []
    assert runs(schedule) == []


def test_a_deleted_workflow_takes_its_schedules_and_history_along(settings, world, flow):
    schedule_id = schedule_of(flow, world, NOON).id
    run_due(settings, now=NOON)
    assert world.api("owner").delete(f"workflow/{flow.id}/").status_code == 204
    db.session.expunge_all()
    assert db.session.get(Schedule, schedule_id) is None
    assert db.session.scalars(db.select(ScheduleRun).where(ScheduleRun.schedule_id == schedule_id)).all() == []
    assert run_due(settings, now=NOON + timedelta(days=1)).started == []


def test_a_claim_whose_worker_died_is_started_later_exactly_once(settings, world, flow):
    """The worker died after the claim: a later pass starts the run, with the run's id as execution id."""
    schedule = schedule_of(flow, world, NOON + timedelta(hours=1))
    run = ScheduleRun(schedule_id=schedule.id, due_at=NOON, claimed_at=NOON)
    db.session.add(run)
    db.session.commit()
    assert run_due(settings, now=NOON + timedelta(seconds=10)).started == []  # it may still be starting
    assert run_due(settings, now=NOON + scheduler.RESTART_AFTER * 2).started == [run.id]
    [fired] = runs(schedule)
    assert (fired.status, fired.execution_id) == ("STARTED", run.id)
    assert db.session.get(Execution, run.id).workflow_id == flow.id


def test_a_claim_whose_worker_died_after_starting_is_only_recorded(settings, world, flow):
    """The worker died after creating the execution: the later pass finds it and starts nothing more."""
    schedule = schedule_of(flow, world, NOON + timedelta(hours=1))
    run = ScheduleRun(schedule_id=schedule.id, due_at=NOON, claimed_at=NOON)
    db.session.add(run)
    db.session.commit()
    run_id = run.id
    scheduler._start(fresh(schedule), db.session.get(ScheduleRun, run_id), settings)  # then "dies"
    assert run_due(settings, now=NOON + scheduler.RESTART_AFTER * 2).started == [run_id]
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)) == 1
    assert runs(schedule)[0].status == "STARTED" and fresh(schedule).last_execution_id == run_id


def test_starting_the_same_run_twice_creates_one_execution(settings, world, flow):
    schedule = schedule_of(flow, world, NOON)
    run = ScheduleRun(schedule_id=schedule.id, due_at=NOON, claimed_at=NOON)
    db.session.add(run)
    db.session.commit()
    run_id = run.id
    for _ in range(2):
        status, _reason, execution_id = scheduler._start(fresh(schedule), db.session.get(ScheduleRun, run_id),
                                                         settings)
        assert (status, execution_id) == ("STARTED", run_id)
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)) == 1


def test_worker_ticks_fall_right_after_each_multiple_of_the_interval():
    from unstract.worker.process import TICK_OFFSET, seconds_to_next_tick

    assert seconds_to_next_tick(5, 1000.0) == pytest.approx(5 + TICK_OFFSET)
    assert seconds_to_next_tick(5, 1003.5) == pytest.approx(1.5 + TICK_OFFSET)


# --- A claimed batch fires in one go -----------------------------------------------------------------

def test_one_pass_fires_a_mixed_batch_each_run_by_its_own_rule(settings, world, flow):
    """Started, skipped (inactive workflow) and failed (creator gone) runs of one claimed batch: each
    recorded as a single start would record it, and one listing job per started execution."""
    started = [schedule_of(flow, world, NOON) for _ in range(3)]
    idle = make_workflow(world.users["owner"], flow.organization, is_active=False)
    inactive = schedule_of(idle, world, NOON)
    orphan = schedule_of(flow, world, NOON, created_by=None)
    result = run_due(settings, now=NOON)
    assert (len(result.started), len(result.skipped), len(result.failed)) == (3, 1, 1)
    for schedule in started:
        [run] = runs(schedule)
        assert (run.status, run.execution_id) == ("STARTED", run.id)
        assert fresh(schedule).last_execution_id == run.id
        assert f"listing-{run.id}" in rq.queue().job_ids
    assert runs(inactive)[0].reason == scheduler.INACTIVE_WORKFLOW
    assert runs(orphan)[0].reason == scheduler.CREATOR_GONE
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)) == 3


def test_the_pending_limit_holds_within_one_batch(settings, world, flow):
    limited = replace(settings, max_pending_executions=2)
    schedules = [schedule_of(flow, world, NOON) for _ in range(4)]
    result = run_due(limited, now=NOON)
    assert (len(result.started), len(result.failed)) == (2, 2)
    failed = [run for schedule in schedules for run in runs(schedule) if run.status == "FAILED"]
    assert len(failed) == 2 and all("Too many queued executions" in run.reason for run in failed)
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)) == 2


def test_a_batch_meeting_an_execution_started_meanwhile_falls_back_to_one_run_at_a_time(settings, world, flow):
    """Another worker created one of the batch's executions between the checks and the insert: the batch is
    rolled back and each run fired alone; still one execution per run."""
    first, second = schedule_of(flow, world, NOON), schedule_of(flow, world, NOON)
    run_ids = scheduler._claim_due(NOON)
    assert len(run_ids) == 2
    raced = db.session.get(ScheduleRun, run_ids[0])
    scheduler._start(fresh(db.session.get(Schedule, raced.schedule_id)), raced, settings)
    result = scheduler.TickResult()
    scheduler._fire_claimed(result, run_ids, settings, reclaimed=False)
    assert sorted(result.started) == sorted(run_ids)
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)) == 2
    assert [run.status for schedule in (first, second) for run in runs(schedule)] == ["STARTED", "STARTED"]
