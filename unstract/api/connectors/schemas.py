"""Schemas of the connector resource and the connector types."""

from __future__ import annotations

from marshmallow import fields

from unstract.schemas.fields import BaseSchema, JSONObject, Text, Timestamp, UUIDField, max_length, one_of
from unstract.services import connectors


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


class ConnectorCreateSchema(BaseSchema):
    """Body of POST connector/, fields in their documented order."""

    connector_name = Text(required=True, trim=True, allow_blank=False, validate=max_length(128))
    connector_id = Text(required=True, validate=one_of(connectors.CONNECTOR_IDS))
    connector_metadata = JSONObject(required=True)


class ConnectorUpdateSchema(BaseSchema):
    """Body of PATCH connector/{id}/: any subset; the type is compared with the stored one."""

    connector_name = Text(trim=True, allow_blank=False, validate=max_length(128))
    connector_id = Text()
    connector_metadata = JSONObject()


class ConnectorQueryArgsSchema(BaseSchema):
    connector_id = Text(load_default=None, validate=one_of(connectors.CONNECTOR_IDS))
    connector_mode = Text(load_default=None, validate=one_of(connectors.MODES))
    ordering = Text(load_default=None)
