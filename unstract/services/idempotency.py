"""Idempotency-Key on the execute routes (docs/API.md, Idempotent execute).

The first call with a key inserts a claim row; the unique constraint (org, key) lets exactly one of several
concurrent calls insert it, so only that call creates an execution. The others read the claim: the same
request fingerprint → the claimed execution (waiting briefly while the first call is still creating it);
another fingerprint → 422 idempotency_key_reused. A claim older than 24 hours is replaced; a first call
that fails releases its claim, so a retry with the key runs again.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from unstract import errors
from unstract.extensions import db
from unstract.models import IdempotencyClaim
from unstract.models.base import utcnow

KEY_FORM = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII
LIFETIME = timedelta(hours=24)
CREATION_WAIT_SECONDS = 30  # how long a concurrent call waits for the first one to create its execution
POLL_SECONDS = 0.05


class KeyReused(errors.DomainError):
    status = 422
    code = "idempotency_key_reused"
    detail = "This Idempotency-Key was used with a different request."


def check_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not KEY_FORM.fullmatch(raw):
        raise errors.ValidationFailed("Idempotency-Key must be 1-255 visible ASCII characters.",
                                      code="invalid", attr="Idempotency-Key")
    return raw


def fingerprint(*parts: str) -> str:
    """A digest of what makes two requests the same (workflow, action, file hashes...)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def stream_hash(stream) -> str:
    """SHA-256 of a seekable upload stream, rewound afterwards (nothing is stored)."""
    digest = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(1024 * 1024):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def claim(organization_id: uuid.UUID, key: str, print_: str) -> tuple[uuid.UUID, uuid.UUID | None]:
    """(claim id, None) when this call owns the key now; (claim id, execution id) for a replay."""
    deadline = time.monotonic() + CREATION_WAIT_SECONDS
    while True:
        claim_id = _insert(organization_id, key, print_)
        if claim_id is not None:
            return claim_id, None
        existing = db.session.scalar(select(IdempotencyClaim).where(
            IdempotencyClaim.organization_id == organization_id, IdempotencyClaim.key == key))
        db.session.rollback()
        if existing is None:
            continue  # released or expired in between: try to claim again
        if existing.created_at < utcnow() - LIFETIME:
            _remove(existing.id, expired_only=True)
            continue
        if existing.fingerprint != print_:
            raise KeyReused()
        if existing.execution_id is not None:
            return existing.id, existing.execution_id
        if time.monotonic() >= deadline:
            raise errors.Conflict("A call with this Idempotency-Key is still being started; retry.",
                                  code="idempotency_key_in_use")
        time.sleep(POLL_SECONDS)


def _insert(organization_id: uuid.UUID, key: str, print_: str) -> uuid.UUID | None:
    row = IdempotencyClaim(id=uuid.uuid4(), organization_id=organization_id, key=key, fingerprint=print_)
    claim_id = row.id
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return claim_id


def bind(claim_id: uuid.UUID, execution_id: uuid.UUID) -> None:
    db.session.execute(IdempotencyClaim.__table__.update().where(IdempotencyClaim.id == claim_id)
                       .values(execution_id=execution_id))
    db.session.commit()


def release(claim_id: uuid.UUID) -> None:
    db.session.rollback()
    _remove(claim_id, expired_only=False)


def _remove(claim_id: uuid.UUID, *, expired_only: bool) -> None:
    statement = delete(IdempotencyClaim).where(IdempotencyClaim.id == claim_id)
    if expired_only:
        statement = statement.where(IdempotencyClaim.created_at < utcnow() - LIFETIME)
    db.session.execute(statement.execution_options(synchronize_session=False))
    db.session.commit()
