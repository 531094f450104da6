"""Dashboard login sessions kept on the server: a login adds a row, the session cookie names it, and
deleting it (logout, a password change, removal from an organization) ends that login everywhere the
cookie was copied to (docs/SECURITY.md, Sessions)."""

from __future__ import annotations

import functools
import secrets
import uuid

from sqlalchemy import Select, bindparam, delete, select

from unstract.extensions import db
from unstract.models import User, UserSession


def start(user: User) -> str:
    """A new session of `user`; returns its id (random, 256 bits) for the session cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(id=token, user_id=user.id))
    db.session.commit()
    return token


def user_of(token: str, user_id: uuid.UUID) -> User | None:
    """The user of a live session, in one primary-key lookup; None when the session was revoked."""
    return db.session.scalars(_user_statement(), {"token": token, "user_id": user_id}).first()


@functools.cache
def _user_statement() -> Select:
    """Built once: every session-authenticated request runs it."""
    return (select(User).join(UserSession, UserSession.user_id == User.id)
            .where(UserSession.id == bindparam("token"), User.id == bindparam("user_id")))


def end(token: str) -> None:
    db.session.execute(delete(UserSession).where(UserSession.id == token))
    db.session.commit()


def revoke_all(user: User) -> int:
    """Delete every session of `user` (the caller commits); returns how many there were."""
    result = db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    return result.rowcount
