"""Schemas of the workflow endpoint resource."""

from __future__ import annotations

from marshmallow import fields

from unstract.models import ALLOWED_CONNECTION_TYPES
from unstract.schemas.fields import BaseSchema, ConfigJSON, Text, Timestamp, UUIDField

# Every connection type of some endpoint type; which ones an endpoint takes depends on its stored type.
CONNECTION_TYPES = sorted({kind for kinds in ALLOWED_CONNECTION_TYPES.values() for kind in kinds})


class ConnectorSummarySchema(BaseSchema):
    id = UUIDField()
    connector_name = fields.String()
    connector_id = fields.String()
    connector_mode = fields.String()


class WorkflowEndpointSchema(BaseSchema):
    id = UUIDField()
    workflow = UUIDField()
    workflow_name = fields.String()
    endpoint_type = fields.String()
    connection_type = fields.String()
    connector_instance = fields.Nested(ConnectorSummarySchema, allow_none=True)
    configuration = fields.Dict(allow_none=True)
    created_at = Timestamp()
    modified_at = Timestamp()


class WorkflowEndpointUpdateSchema(BaseSchema):
    """Body of PATCH workflow/endpoint/{id}/; the rules on the values live in the service."""

    connection_type = Text(metadata={
        "enum": CONNECTION_TYPES,
        "description": "SOURCE takes FILESYSTEM or API, DESTINATION also DATABASE; empty clears the endpoint."})
    connector_instance_id = UUIDField(allow_none=True)
    configuration = ConfigJSON(allow_none=True)
