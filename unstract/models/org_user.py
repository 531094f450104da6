"""Organizations, users, org memberships, API keys and dashboard login sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from unstract.extensions import db
from unstract.models.base import UTCDateTime, utcnow, uuid_pk


class OrgRole(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


KEY_NAME_MAX = 64  # characters of an API key's optional name


class ApiKeyPermission(StrEnum):
    READ = "read"
    READ_WRITE = "read_write"
    FULL_ACCESS = "full_access"


# HTTP methods each API key tier allows (docs/API.md, Authentication).
TIER_METHODS = {
    ApiKeyPermission.READ: {"GET", "HEAD", "OPTIONS"},
    ApiKeyPermission.READ_WRITE: {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"},
    ApiKeyPermission.FULL_ACCESS: {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"},
}


class Organization(db.Model):
    __tablename__ = "organization"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class User(db.Model):
    """A person who logs in; also what Flask-Login keeps as the session user (the four members below)."""

    __tablename__ = "user_account"

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    memberships: Mapped[list[OrgMembership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    is_active = True
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


class OrgMembership(db.Model):
    __tablename__ = "org_membership"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    role: Mapped[str] = mapped_column(String(16), nullable=False, default=OrgRole.MEMBER)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    organization: Mapped[Organization] = relationship()
    user: Mapped[User] = relationship(back_populates="memberships")


class ApiKey(db.Model):
    __tablename__ = "api_key"

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    permission: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    key_prefix: Mapped[str] = mapped_column(String(8), nullable=False)
    # What the key is for, as its owner named it ("" when unnamed); never secret.
    name: Mapped[str] = mapped_column(String(KEY_NAME_MAX), nullable=False, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    organization: Mapped[Organization] = relationship()
    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """One dashboard login. Its random id is kept in the signed session cookie; the request's user is
    loaded through it, so deleting the row logs that browser out (docs/SECURITY.md, Sessions)."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
