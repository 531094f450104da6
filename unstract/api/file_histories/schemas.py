"""Schemas of the file history endpoints (§1.15–§1.18)."""

from __future__ import annotations

from marshmallow import fields

from unstract.schemas.fields import BaseSchema, Timestamp, UUIDField


class FileHistorySchema(BaseSchema):
    id = UUIDField()
    workflow = UUIDField()
    cache_key = fields.String()
    provider_file_uuid = fields.String(allow_none=True)
    file_path = fields.String(allow_none=True)
    status = fields.String()
    execution_count = fields.Integer()
    error = fields.String()
    result = fields.Raw(allow_none=True)
    metadata = fields.Raw()
    created_at = Timestamp()
    modified_at = Timestamp()
    max_execution_count = fields.Integer()
    has_exceeded_limit = fields.Boolean()


class FileHistoryClearResultSchema(BaseSchema):
    deleted_count = fields.Integer()
    message = fields.String()
