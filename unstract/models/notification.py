"""Notifications: webhooks of a workflow, told about each terminal execution, and their deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from unstract.extensions import db
from unstract.models.base import JSONType, Timestamps, UTCDateTime, utcnow, uuid_pk


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# Terminal execution status -> the event its notifications receive.
EVENT_OF_STATUS = {"COMPLETED": "execution.completed", "ERROR": "execution.failed", "STOPPED": "execution.stopped"}
EVENTS = tuple(EVENT_OF_STATUS.values())
FORMATS = ("json", "slack")
AUTHORIZATION_TYPES = ("none", "bearer", "api_key", "custom_header")


class Notification(Timestamps, db.Model):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_workflow", "workflow_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workflow.id", ondelete="CASCADE"), nullable=False
    )
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    events: Mapped[list] = mapped_column(JSONType, nullable=False, default=lambda: list(EVENTS))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    max_retries: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    format: Mapped[str] = mapped_column(String(8), nullable=False, default="json")
    # Both credentials are stored sealed (services.secrets), never their plaintext.
    secret: Mapped[str] = mapped_column(Text, nullable=False)
    authorization_type: Mapped[str] = mapped_column(String(16), nullable=False, default="none")
    authorization_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    authorization_header: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )


class Delivery(db.Model):
    """One event for one notification; the queue carries only its id, the state lives here."""

    __tablename__ = "delivery"
    __table_args__ = (
        Index("ix_delivery_notification_created", "notification_id", "created_at", "id"),
        Index("ix_delivery_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    notification_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("notification.id", ondelete="CASCADE"), nullable=False
    )
    execution_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("execution.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    last_response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, default=utcnow)
    # A claimed attempt holds the row until then; `token` names the claim and the job queued for it.
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    token: Mapped[str] = mapped_column(String(32), nullable=False, default=lambda: uuid.uuid4().hex)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
