"""Workflow action results; the workflow is in schemas.representations, its input in schemas.workflow_input."""

from __future__ import annotations

from marshmallow import fields

from unstract.schemas.fields import BaseSchema, UUIDField

# --- Output --------------------------------------------------------------------------------------

class CanUpdateSchema(BaseSchema):
    can_update = fields.Boolean()
    reason = fields.String(allow_none=True)
    pipelines = fields.List(fields.Raw())
    api_names = fields.List(fields.String())
    pipeline_count = fields.Integer()
    api_count = fields.Integer()


class ClearFileMarkerSchema(BaseSchema):
    message = fields.String()
    deleted_count = fields.Integer()


class WorkflowPersonSchema(BaseSchema):
    id = UUIDField()
    email = fields.String()


class WorkflowUsersSchema(BaseSchema):
    id = UUIDField()
    workflow_name = fields.String()
    shared_to_org = fields.Boolean()
    shared_users = fields.List(fields.Nested(WorkflowPersonSchema))
    co_owners = fields.List(fields.Nested(WorkflowPersonSchema))
    created_by = fields.Nested(WorkflowPersonSchema, allow_none=True)
