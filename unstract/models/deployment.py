"""API deployments: a workflow published at /deployment/api/<org>/<api_name>/, its keys (digests only),
the executions they started, and the Idempotency-Key claims of the execute routes (docs/API.md,
API deployments; Idempotent execute)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from unstract.extensions import db
from unstract.models.base import JSONType, Timestamps, UTCDateTime, utcnow, uuid_pk


class ApiDeployment(Timestamps, db.Model):
    __tablename__ = "api_deployment"
    __table_args__ = (UniqueConstraint("organization_id", "api_name", name="uq_api_deployment_org_name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workflow.id", ondelete="CASCADE"), nullable=False, index=True)
    display_name: Mapped[str] = mapped_column(String(128), nullable=False)
    api_name: Mapped[str] = mapped_column(String(30), nullable=False)
    description: Mapped[str] = mapped_column(String(490), nullable=False, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True)

    workflow = relationship("Workflow")


class DeploymentKey(db.Model):
    """A key that runs one deployment; only its SHA-256 digest is stored."""

    __tablename__ = "deployment_key"

    id: Mapped[uuid.UUID] = uuid_pk()
    deployment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("api_deployment.id", ondelete="CASCADE"), nullable=False, index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    key_prefix: Mapped[str] = mapped_column(String(8), nullable=False)
    description: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class DeploymentRun(db.Model):
    """Which deployment and key started an execution, with the call's tags and custom_data."""

    __tablename__ = "deployment_run"
    __table_args__ = (Index("ix_deployment_run_deployment_created", "deployment_id", "created_at"),)

    execution_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("execution.id", ondelete="CASCADE"), primary_key=True)
    deployment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("api_deployment.id", ondelete="CASCADE"), nullable=False)
    key_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("deployment_key.id", ondelete="SET NULL"), nullable=True)
    tags: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    custom_data: Mapped[object | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class IdempotencyClaim(db.Model):
    """One Idempotency-Key of one org: the unique constraint decides between concurrent calls."""

    __tablename__ = "idempotency_claim"
    __table_args__ = (UniqueConstraint("organization_id", "key", name="uq_idempotency_claim_org_key"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    execution_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("execution.id", ondelete="CASCADE"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
