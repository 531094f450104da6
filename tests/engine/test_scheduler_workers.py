"""Schedules fired by several real `unstract worker` processes, one of them killed and replaced midway:
every due time starts exactly one execution (the claim goes through the real database)."""

from __future__ import annotations

import os
import signal
import uuid
from datetime import timedelta

import pytest

from tests.engine.workers import slow_folder_workflow, start_worker, wait_until, worker_env, workers
from unstract.extensions import db
from unstract.models import Execution, Schedule, ScheduleRun, Workflow
from unstract.models.base import utcnow

pytestmark = pytest.mark.slow

YEARLY = "0 0 1 1 *"  # after its seeded due time a schedule is not due again during the test


def due_schedules(workflow_id: str, count: int, owner_id) -> list[uuid.UUID]:
    """`count` schedules whose due time (set in the database) is a few seconds ago."""
    workflow = db.session.get(Workflow, uuid.UUID(workflow_id))
    due = utcnow() - timedelta(seconds=3)
    rows = [Schedule(id=uuid.uuid4(), organization_id=workflow.organization_id, workflow_id=workflow.id,
                     cron=YEARLY, timezone="UTC", next_run_at=due, allow_overlap=True, created_by=owner_id)
            for _ in range(count)]
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows]


def settled_runs(ids: list[uuid.UUID], per_schedule: int) -> list[ScheduleRun] | None:
    runs = db.session.scalars(db.select(ScheduleRun).where(ScheduleRun.schedule_id.in_(ids))).all()
    done = [run for run in runs if run.status != "CLAIMED"]
    return runs if len(done) >= len(ids) * per_schedule else None


def assert_each_due_time_started_once(ids: list[uuid.UUID], per_schedule: int) -> None:
    runs = db.session.scalars(db.select(ScheduleRun).where(ScheduleRun.schedule_id.in_(ids))).all()
    assert len(runs) == len(ids) * per_schedule
    assert len({(run.schedule_id, run.due_at) for run in runs}) == len(runs)
    assert {run.status for run in runs} == {"STARTED"}, [(r.status, r.reason) for r in runs if r.status != "STARTED"]
    execution_ids = [run.execution_id for run in runs]
    assert len(set(execution_ids)) == len(runs)
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)
                             .where(Execution.id.in_(execution_ids))) == len(runs)


def test_several_workers_and_a_restart_fire_each_due_time_once(world, base_env, storage_root, tmp_path):
    workflow_id = slow_folder_workflow(world, storage_root, files=1, slow=False)
    owner = world.users["owner"].id
    with workers(base_env, tmp_path, count=3, UNSTRACT_SCHEDULE_TICK_SECONDS=1) as processes:
        first = due_schedules(workflow_id, 25, owner)
        wait_until(lambda: db.session.scalar(db.select(db.func.count()).select_from(ScheduleRun)), 60)
        os.killpg(processes[0].pid, signal.SIGKILL)  # possibly in the middle of a claim or a start
        processes[0].wait(timeout=10)
        processes.append(start_worker(worker_env(base_env, UNSTRACT_SCHEDULE_TICK_SECONDS=1), tmp_path, "worker-3"))
        second = due_schedules(workflow_id, 25, owner)
        wait_until(lambda: settled_runs(first + second, 1), 120)
        assert_each_due_time_started_once(first + second, 1)
        # The same schedules due once more: a second due time each, again exactly one run.
        db.session.execute(db.update(Schedule).where(Schedule.id.in_(first))
                           .values(next_run_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        wait_until(lambda: settled_runs(first, 2), 120)
        assert_each_due_time_started_once(first, 2)
