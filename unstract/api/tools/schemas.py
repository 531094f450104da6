"""Schemas of the tool and tool instance resources."""

from __future__ import annotations

from marshmallow import fields

from unstract.schemas.fields import (
    BaseSchema,
    ConfigJSON,
    StrictInteger,
    Text,
    UUIDField,
    min_value,
    one_of,
)
from unstract.services import tool_instances


class ToolSchema(BaseSchema):
    tool_id = fields.String()
    name = fields.String()
    description = fields.String()
    settings_schema = fields.Dict()



class ToolInstanceQueryArgsSchema(BaseSchema):
    workflow_id = UUIDField(required=True)


class ToolInstanceCreateSchema(BaseSchema):
    """Body of POST tool_instance/, fields in their documented order; the upper step bound needs the workflow."""

    workflow_id = UUIDField(required=True)
    tool_id = Text(required=True, validate=one_of(tool_instances.TOOL_IDS))
    metadata = ConfigJSON(load_default=dict, object_only=True)
    step = StrictInteger(validate=min_value(1))


class ToolInstanceUpdateSchema(BaseSchema):
    """Body of PATCH tool_instance/{id}/; tool_id and workflow_id are ignored (tool_id is documented as
    the tool the metadata is written for: api/openapi.py)."""

    tool_id = Text(load_default=None, metadata={
        "enum": list(tool_instances.TOOL_IDS), "description": "The instance's tool; it cannot change."})
    metadata = ConfigJSON(object_only=True, metadata={"description": "Must fit the instance's tool."})
    step = StrictInteger(validate=min_value(1))
