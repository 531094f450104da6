"""Schemas of the workflow resource's representations (§1.0–§1.11, §2.2); its input is schemas.workflow_input."""

from __future__ import annotations

from marshmallow import fields

from unstract.schemas.fields import BaseSchema, Timestamp, UUIDField

# --- Output --------------------------------------------------------------------------------------

class WorkflowToolInstanceSchema(BaseSchema):
    id = UUIDField()
    workflow = UUIDField()
    tool_id = fields.String()
    step = fields.Integer()
    metadata = fields.Raw()
    created_at = Timestamp()
    modified_at = Timestamp()


class WorkflowSchema(BaseSchema):
    id = UUIDField()
    workflow_name = fields.String()
    description = fields.String()
    is_active = fields.Boolean()
    status = fields.String()
    workflow_owner = UUIDField(allow_none=True)
    deployment_type = fields.String()
    source_settings = fields.Raw(allow_none=True)
    destination_settings = fields.Raw(allow_none=True)
    max_file_execution_count = fields.Integer(allow_none=True)
    shared_to_org = fields.Boolean()
    shared_users = fields.List(UUIDField())
    created_by = UUIDField(allow_none=True)
    modified_by = UUIDField(allow_none=True)
    created_at = Timestamp()
    modified_at = Timestamp()
    organization = fields.String()
    is_owner = fields.Boolean()
    created_by_email = fields.String(allow_none=True)
    owner_emails = fields.List(fields.String())
    co_owners_count = fields.Integer()
    tool_instances = fields.List(fields.Nested(WorkflowToolInstanceSchema))


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
