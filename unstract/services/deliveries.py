"""Webhook deliveries (docs/API.md, Notifications): their state lives in the database, the queue carries ids.

A delivery row is inserted in the transaction that makes its execution terminal, so a run never ends
without its deliveries, and its job is enqueued only after that commit. Each attempt is claimed with a
conditional UPDATE (pending, due, not held by a live claim), so two jobs for one delivery never send it
at the same time; a job lost with Redis or a killed worker is queued again by the reaper's sweep.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from redis.exceptions import RedisError
from sqlalchemy import event, insert, or_, select, update

from unstract import errors
from unstract.extensions import db, rq
from unstract.models import EVENT_OF_STATUS, Delivery, DeliveryStatus, Execution, Notification
from unstract.models.base import utcnow

log = logging.getLogger(__name__)

DELIVERY_JOB = "unstract.worker.jobs.deliver_webhook"
QUEUED_KEY = "unstract.queued_deliveries"  # Session.info: ids to enqueue after the commit
LONGEST_DELAY_SECONDS = 3600.0
JITTER = 0.1  # each delay is spread by up to ±10 %, so receivers back online are not hit all at once
ERROR_LIMIT = 1000


def job_id(delivery_id: uuid.UUID, token: str) -> str:
    return f"delivery-{delivery_id}-{token}"


# --- Creating ------------------------------------------------------------------------------------

def queue_for_terminal(execution_id: uuid.UUID, status: str) -> None:
    """In the transaction that makes the execution terminal: a delivery for each active notification of its
    workflow that wants this event; their jobs are enqueued once the transaction commits."""
    event_name = EVENT_OF_STATUS.get(status)
    if event_name is None:
        return
    rows = db.session.execute(
        select(Notification.id, Notification.events)
        .join(Execution, Execution.workflow_id == Notification.workflow_id)
        .where(Execution.id == execution_id, Notification.is_active.is_(True))).all()
    wanted = [notification_id for notification_id, events in rows if event_name in (events or ())]
    if not wanted:
        return
    now = utcnow()
    values = [{"id": uuid.uuid4(), "notification_id": notification_id, "execution_id": execution_id,
               "event": event_name, "status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": now,
               "token": uuid.uuid4().hex, "created_at": now, "modified_at": now} for notification_id in wanted]
    db.session.execute(insert(Delivery), values)
    for row in values:
        note_queued(row["id"], row["token"], 0.0)


def note_queued(delivery_id: uuid.UUID, token: str, delay_seconds: float) -> None:
    """Enqueue the delivery's job once the current transaction commits."""
    db.session.info.setdefault(QUEUED_KEY, []).append((delivery_id, token, delay_seconds))


@event.listens_for(db.session, "after_commit")
def _enqueue_after_commit(session) -> None:
    queued = session.info.pop(QUEUED_KEY, None)
    if queued:
        enqueue(queued)


@event.listens_for(db.session, "after_rollback")
def _forget_after_rollback(session) -> None:
    session.info.pop(QUEUED_KEY, None)


def enqueue(jobs: list[tuple[uuid.UUID, str, float]]) -> bool:
    """One pipelined round trip; when Redis is away the sweep queues them later (the rows are committed)."""
    from rq import Queue

    try:
        queue = rq.queue()
        with rq.connection().pipeline() as pipe:
            for delivery_id, token, delay in jobs:
                if delay > 0:
                    queue.enqueue_in(timedelta(seconds=delay), DELIVERY_JOB, str(delivery_id),
                                     job_id=job_id(delivery_id, token), result_ttl=0, failure_ttl=86400,
                                     pipeline=pipe)
                else:
                    queue.enqueue_many([Queue.prepare_data(DELIVERY_JOB, (str(delivery_id),),
                                                           job_id=job_id(delivery_id, token), result_ttl=0,
                                                           failure_ttl=86400)], pipeline=pipe)
            pipe.execute()
    except RedisError as exc:
        log.warning("could not queue %d webhook deliveries (%s); the sweep will", len(jobs), exc.__class__.__name__)
        return False
    return True


# --- Attempts ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    delivery_id: uuid.UUID
    token: str
    attempt: int


def claim(delivery_id: uuid.UUID, lease_seconds: float) -> Claim | None:
    """Take the next attempt of a pending, due delivery that no live claim holds; commits. None: nothing to do."""
    now = utcnow()
    token = uuid.uuid4().hex
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.PENDING,
               or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
               or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now))
        .values(attempts=Delivery.attempts + 1, token=token, lease_expires_at=now + timedelta(seconds=lease_seconds),
                modified_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        return None
    attempt = db.session.scalar(select(Delivery.attempts).where(Delivery.id == delivery_id))
    db.session.commit()
    return Claim(delivery_id, token, attempt)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None = None
    error: str | None = None
    response_body: str | None = None
    permanent: bool = False  # no retry can help (the notification or execution is gone)

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay(attempt: int, base_seconds: float) -> float:
    """base × 2^(attempt-1), spread by the jitter, at most an hour."""
    delay = min(base_seconds * 2 ** min(attempt - 1, 64), LONGEST_DELAY_SECONDS)
    return min(delay * random.uniform(1 - JITTER, 1 + JITTER), LONGEST_DELAY_SECONDS)


def record(taken: Claim, outcome: Outcome, max_retries: int, base_seconds: float) -> str | None:
    """Store the attempt's outcome if the claim still holds; a failure with retries left is due again after
    its delay (and queued then). Returns the new status, or None when the claim was lost."""
    values = {"last_status_code": outcome.status_code, "last_error": (outcome.error or None) and
              outcome.error[:ERROR_LIMIT], "last_response_body": outcome.response_body,
              "lease_expires_at": None, "modified_at": utcnow()}
    delay = 0.0
    if outcome.delivered:
        values.update(status=DeliveryStatus.SUCCEEDED, next_attempt_at=None)
    elif outcome.permanent or taken.attempt > max_retries:
        values.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    else:
        delay = retry_delay(taken.attempt, base_seconds)
        values.update(status=DeliveryStatus.PENDING, token=uuid.uuid4().hex,
                      next_attempt_at=utcnow() + timedelta(seconds=delay))
    result = db.session.execute(
        update(Delivery).where(Delivery.id == taken.delivery_id, Delivery.token == taken.token,
                               Delivery.status == DeliveryStatus.PENDING)
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        return None
    if values["status"] == DeliveryStatus.PENDING:
        note_queued(taken.delivery_id, values["token"], delay)
    db.session.commit()
    return values["status"]


# --- Redelivery and recovery -----------------------------------------------------------------------

def redeliver(delivery: Delivery) -> Delivery:
    """Queue a delivery again now, with a fresh retry budget; 409 while an attempt of it is in flight."""
    now = utcnow()
    result = db.session.execute(
        update(Delivery).where(Delivery.id == delivery.id,
                               or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now))
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, lease_expires_at=None,
                token=uuid.uuid4().hex, modified_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        raise errors.Conflict("An attempt of this delivery is in progress.", code="delivery_in_progress")
    token = db.session.scalar(select(Delivery.token).where(Delivery.id == delivery.id))
    note_queued(delivery.id, token, 0.0)
    db.session.commit()
    db.session.refresh(delivery)
    return delivery


def orphaned(grace_seconds: float, limit: int = 1000) -> list[tuple[uuid.UUID, str]]:
    """Pending deliveries due for longer than the grace period and held by no live claim: their job may be
    lost (Redis restarted, a worker killed mid-attempt). The caller asks Redis which of them are queued."""
    now = utcnow()
    return [tuple(row) for row in db.session.execute(
        select(Delivery.id, Delivery.token)
        .where(Delivery.status == DeliveryStatus.PENDING,
               Delivery.next_attempt_at < now - timedelta(seconds=grace_seconds),
               or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now))
        .order_by(Delivery.next_attempt_at).limit(limit)).all()]


def requeue(rows: list[tuple[uuid.UUID, str]]) -> int:
    """Queue a job for each (id, token) the sweep found lost, with a fresh token so a late old job id cannot
    be mistaken for it; commits. Only while the row is unchanged and unclaimed: a job that started after
    the sweep looked may have claimed it meanwhile, and its outcome must still be recorded under its claim."""
    jobs, now = [], utcnow()
    for delivery_id, seen_token in rows:
        token = uuid.uuid4().hex
        result = db.session.execute(
            update(Delivery).where(Delivery.id == delivery_id, Delivery.token == seen_token,
                                   Delivery.status == DeliveryStatus.PENDING,
                                   or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now))
            .values(token=token).execution_options(synchronize_session=False))
        if result.rowcount == 1:
            jobs.append((delivery_id, token, 0.0))
    db.session.commit()
    return len(jobs) if jobs and enqueue(jobs) else 0
