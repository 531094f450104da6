"""Schemas of the connector resource and the connector types."""

from __future__ import annotations

from marshmallow import fields

from unstract.schemas.fields import BaseSchema, Timestamp, UUIDField


class ConnectorSchema(BaseSchema):
    id = UUIDField()
    connector_name = fields.String()
    connector_id = fields.String()
    connector_metadata = fields.Dict()
    connector_mode = fields.String()
    created_by = UUIDField(allow_none=True)
    created_at = Timestamp()
    modified_at = Timestamp()


class ConnectorTypeSchema(BaseSchema):
    connector_id = fields.String()
    name = fields.String()
    connector_mode = fields.String()
    metadata_schema = fields.Dict()
