"""Adapters: an organization's connections to LLM services (docs/API.md, Adapters)."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from unstract.extensions import db
from unstract.models.base import JSONType, Timestamps, uuid_pk


class Adapter(Timestamps, db.Model):
    __tablename__ = "adapter"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    adapter_type: Mapped[str] = mapped_column(String(16), nullable=False, default="llm")
    provider: Mapped[str] = mapped_column(String(32), nullable=False, default="openai")
    # The configuration without the key; the key only sealed (services.secrets), plus its last 4 characters.
    config: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    sealed_api_key: Mapped[str] = mapped_column(Text, nullable=False)
    api_key_last4: Mapped[str] = mapped_column(String(4), nullable=False, default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
