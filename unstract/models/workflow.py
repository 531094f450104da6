"""Workflows with their memberships, endpoints and tool instances."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from unstract.extensions import db
from unstract.models.base import JSONType, Timestamps, UTCDateTime, utcnow, uuid_pk


class DeploymentType(StrEnum):
    DEFAULT = "DEFAULT"
    ETL = "ETL"
    TASK = "TASK"
    API = "API"
    APP = "APP"


class WorkflowRole(StrEnum):
    OWNER = "owner"
    VIEWER = "viewer"


class EndpointType(StrEnum):
    SOURCE = "SOURCE"
    DESTINATION = "DESTINATION"


class ConnectionType(StrEnum):
    NONE = ""
    FILESYSTEM = "FILESYSTEM"
    DATABASE = "DATABASE"
    API = "API"


ALLOWED_CONNECTION_TYPES = {
    EndpointType.SOURCE: ("", "FILESYSTEM", "API"),
    EndpointType.DESTINATION: ("", "FILESYSTEM", "DATABASE", "API"),
}


class Workflow(Timestamps, db.Model):
    __tablename__ = "workflow"
    __table_args__ = (
        UniqueConstraint("organization_id", "workflow_name"),
        Index("ix_workflow_org_modified", "organization_id", "modified_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
    )
    workflow_name: Mapped[str] = mapped_column(String(128), nullable=False)
    description: Mapped[str] = mapped_column(String(490), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    deployment_type: Mapped[str] = mapped_column(String(16), nullable=False, default=DeploymentType.DEFAULT)
    source_settings: Mapped[object | None] = mapped_column(JSONType, nullable=True)
    destination_settings: Mapped[object | None] = mapped_column(JSONType, nullable=True)
    max_file_execution_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    shared_to_org: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    workflow_owner: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    modified_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )

    organization = relationship("Organization")
    creator = relationship("User", foreign_keys=[created_by])
    memberships: Mapped[list[WorkflowMembership]] = relationship(
        back_populates="workflow", cascade="all, delete-orphan", passive_deletes=True,
        order_by="WorkflowMembership.created_at, WorkflowMembership.id",
    )
    endpoints: Mapped[list[WorkflowEndpoint]] = relationship(
        back_populates="workflow", cascade="all, delete-orphan", passive_deletes=True,
    )
    tool_instances: Mapped[list[ToolInstance]] = relationship(
        back_populates="workflow", cascade="all, delete-orphan", passive_deletes=True,
        order_by="ToolInstance.step",
    )

    def endpoint(self, endpoint_type: str) -> WorkflowEndpoint | None:
        return next((e for e in self.endpoints if e.endpoint_type == endpoint_type), None)


class WorkflowMembership(db.Model):
    __tablename__ = "workflow_membership"
    __table_args__ = (UniqueConstraint("workflow_id", "user_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workflow.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    role: Mapped[str] = mapped_column(String(8), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    workflow: Mapped[Workflow] = relationship(back_populates="memberships")
    user = relationship("User")


class WorkflowEndpoint(Timestamps, db.Model):
    __tablename__ = "workflow_endpoint"
    __table_args__ = (UniqueConstraint("workflow_id", "endpoint_type"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workflow.id", ondelete="CASCADE"), nullable=False
    )
    endpoint_type: Mapped[str] = mapped_column(String(16), nullable=False)
    connection_type: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    connector_instance_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("connector.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    configuration: Mapped[dict | None] = mapped_column(JSONType, nullable=True)

    workflow: Mapped[Workflow] = relationship(back_populates="endpoints")
    connector = relationship("Connector")


class ToolInstance(Timestamps, db.Model):
    __tablename__ = "tool_instance"
    __table_args__ = (Index("ix_tool_instance_workflow_step", "workflow_id", "step"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workflow.id", ondelete="CASCADE"), nullable=False
    )
    tool_id: Mapped[str] = mapped_column(String(64), nullable=False)
    step: Mapped[int] = mapped_column(Integer, nullable=False)
    metadata_: Mapped[dict] = mapped_column("metadata", JSONType, nullable=False, default=dict)

    workflow: Mapped[Workflow] = relationship(back_populates="tool_instances")
