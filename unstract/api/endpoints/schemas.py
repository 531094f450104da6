"""Schemas of the workflow endpoint resource."""

from __future__ import annotations

from marshmallow import fields

from unstract.schemas.fields import BaseSchema, ConfigJSON, Text, Timestamp, UUIDField


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

    connection_type = Text()
    connector_instance_id = UUIDField(allow_none=True)
    configuration = ConfigJSON(allow_none=True)
