"""Connectors: named file stores and databases of an organization."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from unstract.connectors import registry
from unstract.extensions import db
from unstract.models.base import JSONType, Timestamps, uuid_pk

# connector_id -> connector_mode, as each connector type declares it
CONNECTOR_MODES = registry.connector_modes()


class Connector(Timestamps, db.Model):
    __tablename__ = "connector"
    __table_args__ = (UniqueConstraint("organization_id", "connector_name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
    )
    connector_name: Mapped[str] = mapped_column(String(128), nullable=False)
    connector_id: Mapped[str] = mapped_column(String(32), nullable=False)
    # Secret properties are stored encrypted (services.secrets); never their plaintext.
    connector_metadata: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    connector_mode: Mapped[str] = mapped_column(String(16), nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
