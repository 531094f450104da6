"""Schemas of the workflow resource: representation, writable fields, queries, actions, co-owners."""

from __future__ import annotations

from marshmallow import ValidationError, fields

from unstract.errors import FieldMessage
from unstract.models import DeploymentType
from unstract.schemas.fields import (
    AnyJSON,
    BaseSchema,
    ItemList,
    StrictBoolean,
    StrictInteger,
    Text,
    Timestamp,
    UUIDField,
    max_length,
    max_value,
    min_value,
    one_of,
)
from unstract.services import workflows


def safe_text(label: str, attr: str):
    """Validator for the `unsafe_content` rules of workflow names and descriptions."""
    def check(value: str) -> None:
        detail = workflows.unsafe_content(label, value)
        if detail is not None:
            raise ValidationError([FieldMessage("unsafe_content", detail, attr)])
    return check


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


# --- Input ---------------------------------------------------------------------------------------

class WorkflowWriteSchema(BaseSchema):
    """Writable fields of a workflow, declared in their documented order (the order of error entries)."""

    workflow_name = Text(required=True, trim=True, allow_blank=False,
                         validate=[max_length(128), safe_text("Workflow name", "workflow_name")])
    description = Text(validate=[max_length(490), safe_text("Description", "description")])
    is_active = StrictBoolean()
    status = Text(validate=max_length(16))
    deployment_type = fields.Raw(validate=one_of([d.value for d in DeploymentType]))
    source_settings = AnyJSON(allow_none=True)
    destination_settings = AnyJSON(allow_none=True)
    max_file_execution_count = StrictInteger(allow_none=True, validate=[min_value(1), max_value(2147483647)])
    shared_to_org = StrictBoolean()
    shared_users = ItemList(UUIDField())


class WorkflowCreateSchema(WorkflowWriteSchema):
    """POST ignores `is_active` (a new workflow is always active)."""

    class Meta(WorkflowWriteSchema.Meta):
        exclude = ("is_active",)


class WorkflowQueryArgsSchema(BaseSchema):
    workflow_name = Text(load_default=None)
    search = Text(load_default=None)
    is_active = StrictBoolean(text=True, load_default=None)
    ordering = Text(load_default=None)


class SettingsSchemaQueryArgsSchema(BaseSchema):
    type = Text(load_default="src", validate=one_of(workflows.SCHEMA_TYPES))
    entity = Text(load_default="file", validate=one_of(workflows.SCHEMA_ENTITIES))


class OwnerCreateSchema(BaseSchema):
    user_id = UUIDField(required=True)
