"""The write rules every resource service shares: ordered 400s and the duplicate-name race."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from unstract import errors
from unstract.errors import FieldMessage
from unstract.extensions import db


def field_position(message: FieldMessage, fields: Sequence[str]) -> int:
    """Where the message's field (its attr up to the first dot) comes in `fields`; unknown ones last."""
    root = (message.attr or "").split(".", 1)[0]
    return fields.index(root) if root in fields else len(fields)


def raise_if_any(messages: Sequence[FieldMessage], fields: Sequence[str]) -> None:
    """One 400 carrying every message, in the resource's field order (stable within a field)."""
    if messages:
        raise errors.ValidationFailed.of(sorted(messages, key=lambda m: field_position(m, fields)))


def commit_or_duplicate(attr: str, detail: str) -> None:
    """Commit; a unique index on `attr` firing under a concurrent write is the same 400 as the check."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        if attr in str(exc.orig):
            raise errors.field_error(attr, "unique", detail) from None
        raise
