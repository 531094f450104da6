"""Representations of notifications and deliveries."""

from __future__ import annotations

from marshmallow import fields

from unstract.schemas.fields import BaseSchema, Timestamp, UUIDField


class NotificationSchema(BaseSchema):
    id = UUIDField()
    workflow = UUIDField()
    url = fields.String()
    events = fields.List(fields.String())
    is_active = fields.Boolean()
    max_retries = fields.Integer()
    format = fields.String()
    secret = fields.String(metadata={"description": "Only in the creation response, and only when generated."})
    authorization_type = fields.String()
    authorization_header = fields.String(allow_none=True)
    has_authorization_key = fields.Boolean()
    created_by = UUIDField(allow_none=True)
    created_at = Timestamp()
    modified_at = Timestamp()


class DeliverySchema(BaseSchema):
    id = UUIDField()
    event = fields.String()
    execution_id = UUIDField()
    status = fields.String(metadata={"enum": ["pending", "succeeded", "failed"]})
    attempts = fields.Integer()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    last_response_body = fields.String(allow_none=True, metadata={"description": "The first 1024 bytes."})
    next_attempt_at = Timestamp(allow_none=True)
    created_at = Timestamp()
