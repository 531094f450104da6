"""Schemas of the adapter resource."""

from __future__ import annotations

from marshmallow import fields

from unstract.schemas.fields import BaseSchema, Timestamp, UUIDField


class AdapterSchema(BaseSchema):
    id = UUIDField()
    name = fields.String()
    adapter_type = fields.String()
    provider = fields.String()
    config = fields.Dict(metadata={"description": "The configuration without api_key."})
    api_key_set = fields.Boolean()
    api_key_hint = fields.String(allow_none=True, metadata={
        "description": "\u2026 followed by the key's last 4 characters; null when the key has 8 characters or "
                       "fewer (its last 4 would give it away)."})
    created_by = UUIDField(allow_none=True)
    created_at = Timestamp()
    modified_at = Timestamp()


class AdapterTestSchema(BaseSchema):
    ok = fields.Boolean()
    model = fields.String()
    latency_ms = fields.Float()
    error = fields.String()
