"""The scheduler pass every worker runs (docs/EXECUTION.md, Schedules).

A due time is claimed in the database before anything starts: one transaction moves the schedule's
`next_run_at` on (a conditional update on the value read) and inserts the (schedule, due time) row whose
unique constraint no second claim can pass. The claimer starts the execution with the run's id as the
execution's id, so a run whose worker died between claim and start is started again by a later pass
(RESTART_AFTER) without any risk of a second execution: the primary key refuses it. `next_run_at` moves
to the first due time after now, so a service that was down across many due times runs one catch-up run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Uuid, bindparam, exists, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import FlushError

from unstract import errors
from unstract.config import Settings
from unstract.extensions import db
from unstract.models import (
    NON_TERMINAL,
    Execution,
    Organization,
    OrgMembership,
    RunStatus,
    Schedule,
    ScheduleRun,
    User,
    Workflow,
)
from unstract.models.base import utcnow
from unstract.policy import Requester
from unstract.services import cron as crontab
from unstract.services.executions import QueuedStart, add_queued, discard, enqueue_listings, start_queued

CLAIM_BATCH = 100
# A claim still open after this long belongs to a worker that died between claim and start (a start
# takes milliseconds; a worker waiting on the database longer than this races harmlessly: same id).
RESTART_AFTER = timedelta(seconds=30)
INACTIVE_WORKFLOW = "Workflow is inactive."
CREATOR_GONE = "The schedule's creator is no longer a member of the organization."
STILL_STARTING = "The previous run is still being started."


@dataclass
class TickResult:
    started: list[uuid.UUID] = field(default_factory=list)  # run ids
    skipped: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)


def run_due(settings: Settings, now: datetime | None = None) -> TickResult:
    """Claim and fire every schedule due at `now` (the real clock unless a test sets one)."""
    now = now or utcnow()
    result = TickResult()
    _fire_claimed(result, _reclaim_abandoned(now), settings, reclaimed=True)
    while True:
        claimed = _claim_due(now)
        _fire_claimed(result, claimed, settings, reclaimed=False)
        if len(claimed) < CLAIM_BATCH:
            return result


def _fire_claimed(result: TickResult, run_ids: list[uuid.UUID], settings: Settings, *, reclaimed: bool) -> None:
    """Fire a claimed batch in one transaction; when one of its executions exists already (a reclaimed run
    another worker is starting too), the batch is rolled back and fired one run at a time."""
    if not run_ids:
        return
    try:
        statuses = _fire_batch(run_ids, settings, reclaimed=reclaimed)
    except (IntegrityError, FlushError):
        db.session.rollback()
        statuses = {run_id: _fire(run_id, settings, reclaimed=reclaimed) for run_id in run_ids}
    for run_id, status in statuses.items():
        _note(result, run_id, status)


def _note(result: TickResult, run_id: uuid.UUID, status: str) -> None:
    getattr(result, status.lower()).append(run_id)


def _claim_due(now: datetime) -> list[uuid.UUID]:
    """Claim up to CLAIM_BATCH due times in one transaction; rows another worker holds are passed over.
    A unique violation (another claim of one of these due times) rolls the whole batch back: nothing is
    claimed by this pass, and the rows are looked at again by the next."""
    due = db.session.execute(
        select(Schedule.id, Schedule.next_run_at, Schedule.cron, Schedule.timezone)
        .where(Schedule.is_active.is_(True), Schedule.next_run_at <= now)
        .order_by(Schedule.next_run_at).limit(CLAIM_BATCH).with_for_update(skip_locked=True)).all()
    runs = [run for row in due if (run := _claim(row, now)) is not None]
    try:
        if runs:
            db.session.execute(insert(ScheduleRun), runs)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return []
    return [run["id"] for run in runs]


def _claim(row, now: datetime) -> dict | None:
    """Move next_run_at past now if it still is the due time read; the run row to insert, or None when
    another worker was first."""
    following = crontab.next_run_after(row.cron, row.timezone, max(now, row.next_run_at))
    moved = db.session.execute(
        update(Schedule).where(Schedule.id == row.id, Schedule.next_run_at == row.next_run_at,
                               Schedule.is_active.is_(True))
        .values(next_run_at=following, last_run_at=now, modified_at=Schedule.modified_at)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        return None
    return {"id": uuid.uuid4(), "schedule_id": row.id, "due_at": row.next_run_at, "claimed_at": now,
            "status": RunStatus.CLAIMED, "reason": ""}


@dataclass
class Outcome:
    schedule_id: uuid.UUID
    status: str
    reason: str = ""
    execution_id: uuid.UUID | None = None


def _fire_batch(run_ids: list[uuid.UUID], settings: Settings, *, reclaimed: bool) -> dict[uuid.UUID, str]:
    """What `_fire` does for each run, with a few statements for the whole batch: the rules are read for all
    runs at once, the executions inserted and the runs recorded in one commit, the listings queued in one
    Redis pipeline. Returns each run's status."""
    rows = db.session.execute(select(ScheduleRun, Schedule, Workflow)
                              .join(Schedule, Schedule.id == ScheduleRun.schedule_id)
                              .join(Workflow, Workflow.id == Schedule.workflow_id)
                              .where(ScheduleRun.id.in_(run_ids))).all()
    found = {row.ScheduleRun.id for row in rows}
    outcomes = dict.fromkeys(set(run_ids) - found)  # deleted with their workflow meanwhile
    started_before = _existing_executions(found) if reclaimed else set()
    busy = _overlaps([(run, schedule) for run, schedule, _ in rows if not schedule.allow_overlap])
    creators = _creators([schedule for _, schedule, _ in rows])
    starts = []
    for run, schedule, workflow in rows:
        outcome = Outcome(schedule.id, RunStatus.SKIPPED)
        who = creators.get((schedule.organization_id, schedule.created_by))
        if run.id in started_before:
            outcome = Outcome(schedule.id, RunStatus.STARTED, execution_id=run.id)
        elif not workflow.is_active:
            outcome.reason = INACTIVE_WORKFLOW
        elif run.id in busy:
            outcome.reason = busy[run.id]
        elif who is None:
            outcome = Outcome(schedule.id, RunStatus.FAILED, CREATOR_GONE)
        else:
            outcome = Outcome(schedule.id, RunStatus.STARTED, execution_id=run.id)
            starts.append(QueuedStart(who, workflow.id, run.id))
        outcomes[run.id] = outcome
    for run_id, reason in add_queued(starts, settings).items():
        outcomes[run_id] = Outcome(outcomes[run_id].schedule_id, RunStatus.FAILED, reason[:490])
    db.session.flush()  # the executions before the runs that refer to them
    _record_many({run_id: o for run_id, o in outcomes.items() if o is not None})
    _queue_started([run_id for run_id, o in outcomes.items()
                    if o is not None and o.execution_id is not None and run_id not in started_before],
                   outcomes, settings)
    return {run_id: RunStatus.SKIPPED if o is None else o.status for run_id, o in outcomes.items()}


def _existing_executions(ids: set[uuid.UUID]) -> set[uuid.UUID]:
    return set(db.session.scalars(select(Execution.id).where(Execution.id.in_(ids))))


def _overlaps(runs: list[tuple[ScheduleRun, Schedule]]) -> dict[uuid.UUID, str]:
    """`_previous_run_going` for many runs: two statements whatever their number."""
    if not runs:
        return {}
    schedule_ids = {schedule.id for _, schedule in runs}
    last_status = dict(db.session.execute(
        select(Schedule.id, Execution.status).join(Execution, Execution.id == Schedule.last_execution_id)
        .where(Schedule.id.in_(schedule_ids))).all())
    first_open_claim = dict(db.session.execute(
        select(ScheduleRun.schedule_id, func.min(ScheduleRun.due_at))
        .where(ScheduleRun.schedule_id.in_(schedule_ids), ScheduleRun.status == RunStatus.CLAIMED)
        .group_by(ScheduleRun.schedule_id)).all())
    busy = {}
    for run, schedule in runs:
        if last_status.get(schedule.id) in NON_TERMINAL:
            busy[run.id] = (f"The previous run (execution {schedule.last_execution_id}) is still "
                            f"{last_status[schedule.id]}.")
        elif (earliest := first_open_claim.get(schedule.id)) is not None and earliest < run.due_at:
            busy[run.id] = STILL_STARTING
    return busy


def _creators(schedules: list[Schedule]) -> dict[tuple[uuid.UUID, uuid.UUID], Requester]:
    """`_creator` for many schedules, by (organization, user): one statement."""
    pairs = {(s.organization_id, s.created_by) for s in schedules if s.created_by is not None}
    if not pairs:
        return {}
    rows = db.session.execute(
        select(OrgMembership.role, User, Organization)
        .join(User, User.id == OrgMembership.user_id)
        .join(Organization, Organization.id == OrgMembership.organization_id)
        .where(tuple_(OrgMembership.organization_id, OrgMembership.user_id).in_(pairs))).all()
    return {(row.Organization.id, row.User.id): Requester(row.User, row.Organization, row.role) for row in rows}


def _record_many(outcomes: dict[uuid.UUID, Outcome]) -> None:
    """`_record` for many runs: two executemany statements and one commit (with the executions added)."""
    if outcomes:
        run_table, schedule_table = ScheduleRun.__table__, Schedule.__table__
        db.session.execute(
            update(run_table).where(run_table.c.id == bindparam("run_id"))
            .values(status=bindparam("status"), reason=bindparam("reason"), execution_id=bindparam("execution_id")),
            [{"run_id": run_id, "status": o.status, "reason": o.reason, "execution_id": o.execution_id}
             for run_id, o in outcomes.items()])
        db.session.execute(
            update(schedule_table).where(schedule_table.c.id == bindparam("schedule_key"))
            .values(last_run_status=bindparam("status"),
                    last_execution_id=func.coalesce(bindparam("execution_id", type_=Uuid),
                                                    schedule_table.c.last_execution_id),
                    modified_at=schedule_table.c.modified_at),  # a run is no edit
            [{"schedule_key": o.schedule_id, "status": o.status, "execution_id": o.execution_id}
             for o in outcomes.values()])
    db.session.commit()


def _queue_started(execution_ids: list[uuid.UUID], outcomes: dict[uuid.UUID, Outcome], settings: Settings) -> None:
    """The listing jobs of the batch's new executions; when Redis refuses, the executions are removed and
    their runs recorded as failed, as a single start does."""
    if not execution_ids:
        return
    try:
        enqueue_listings(execution_ids)
    except errors.QueueUnavailable as exc:
        for execution_id in execution_ids:
            discard(execution_id, settings.data_dir)
            outcomes[execution_id] = Outcome(outcomes[execution_id].schedule_id, RunStatus.FAILED, str(exc))
        _record_many({execution_id: outcomes[execution_id] for execution_id in execution_ids})


def _fire(run_id: uuid.UUID, settings: Settings, *, reclaimed: bool) -> str:
    """Start the workflow for one claimed run, or record why not (a batch that met a conflict, run by run);
    returns the run's status."""
    row = db.session.execute(select(ScheduleRun, Schedule, Workflow)
                             .join(Schedule, Schedule.id == ScheduleRun.schedule_id)
                             .join(Workflow, Workflow.id == Schedule.workflow_id)
                             .where(ScheduleRun.id == run_id)).first()
    if row is None:  # deleted with its workflow meanwhile
        db.session.rollback()
        return RunStatus.SKIPPED
    run, schedule, _workflow = row
    if reclaimed and _execution_exists(run_id):  # started by a worker that died before recording it
        status, reason, execution_id = RunStatus.STARTED, "", run_id
    else:
        status, reason, execution_id = _start(schedule, run, settings)
    _record(run_id, schedule.id, status, reason, execution_id)
    return status


def _start(schedule: Schedule, run: ScheduleRun, settings: Settings) -> tuple[str, str, uuid.UUID | None]:
    if not schedule.workflow.is_active:
        return RunStatus.SKIPPED, INACTIVE_WORKFLOW, None
    busy = None if schedule.allow_overlap else _previous_run_going(schedule, run)
    if busy:
        return RunStatus.SKIPPED, busy, None
    who = _creator(schedule)
    if who is None:
        return RunStatus.FAILED, CREATOR_GONE, None
    try:
        start_queued(who, schedule.workflow_id, settings, execution_id=run.id)
    except (IntegrityError, FlushError):  # another worker started this very run meanwhile?
        db.session.rollback()
        if not _execution_exists(run.id):
            return RunStatus.FAILED, "The workflow changed while the run was starting.", None
    except errors.DomainError as exc:
        db.session.rollback()
        return RunStatus.FAILED, str(exc)[:490], None
    return RunStatus.STARTED, "", run.id


def _execution_exists(execution_id: uuid.UUID) -> bool:
    return db.session.scalar(select(exists().where(Execution.id == execution_id)))


def _previous_run_going(schedule: Schedule, run: ScheduleRun) -> str | None:
    """Why this run would overlap the previous one (still PENDING or EXECUTING, or claimed and not yet
    started by another worker), or None."""
    last_status = select(Execution.status).where(Execution.id == schedule.last_execution_id).scalar_subquery()
    earlier_claim = exists().where(ScheduleRun.schedule_id == schedule.id, ScheduleRun.status == RunStatus.CLAIMED,
                                   ScheduleRun.due_at < run.due_at)
    status, claimed = db.session.execute(select(last_status, earlier_claim)).one()
    if status in NON_TERMINAL:
        return f"The previous run (execution {schedule.last_execution_id}) is still {status}."
    return STILL_STARTING if claimed else None


def _creator(schedule: Schedule) -> Requester | None:
    """The schedule's creator acting in its organization: runs start with her rights."""
    if schedule.created_by is None:
        return None
    row = db.session.execute(
        select(OrgMembership.role, User, Organization)
        .join(User, User.id == OrgMembership.user_id)
        .join(Organization, Organization.id == OrgMembership.organization_id)
        .where(OrgMembership.organization_id == schedule.organization_id,
               OrgMembership.user_id == schedule.created_by)).first()
    return None if row is None else Requester(row.User, row.Organization, row.role)


def _record(run_id: uuid.UUID, schedule_id: uuid.UUID, status: str, reason: str,
            execution_id: uuid.UUID | None) -> None:
    db.session.execute(update(ScheduleRun).where(ScheduleRun.id == run_id)
                       .values(status=status, reason=reason, execution_id=execution_id)
                       .execution_options(synchronize_session=False))
    values = {"last_run_status": status, "modified_at": Schedule.modified_at}  # a run is no edit
    if execution_id is not None:
        values["last_execution_id"] = execution_id
    db.session.execute(update(Schedule).where(Schedule.id == schedule_id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _reclaim_abandoned(now: datetime) -> list[uuid.UUID]:
    """Runs claimed longer than RESTART_AFTER ago and never recorded, each taken over by one conditional
    update of its claim time."""
    stale = db.session.execute(select(ScheduleRun.id, ScheduleRun.claimed_at).where(
        ScheduleRun.status == RunStatus.CLAIMED, ScheduleRun.claimed_at < now - RESTART_AFTER)
        .limit(CLAIM_BATCH)).all()
    taken = [row.id for row in stale if db.session.execute(
        update(ScheduleRun).where(ScheduleRun.id == row.id, ScheduleRun.status == RunStatus.CLAIMED,
                                  ScheduleRun.claimed_at == row.claimed_at)
        .values(claimed_at=now).execution_options(synchronize_session=False)).rowcount == 1]
    db.session.commit()
    return taken
