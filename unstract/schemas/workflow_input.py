"""Input of the workflow resource, shared by the API and the dashboard: writable fields, queries, owners."""

from __future__ import annotations

from marshmallow import ValidationError, fields

from unstract.errors import FieldMessage
from unstract.models import DeploymentType
from unstract.schemas.fields import (
    BaseSchema,
    ConfigJSON,
    ItemList,
    StrictBoolean,
    StrictInteger,
    Text,
    UUIDField,
    max_length,
    max_value,
    min_value,
    one_of,
    ordering_field,
)
from unstract.services import workflows


def safe_text(label: str, attr: str):
    """Validator for the `unsafe_content` rules of workflow names and descriptions."""
    def check(value: str) -> None:
        detail = workflows.unsafe_content(label, value)
        if detail is not None:
            raise ValidationError([FieldMessage("unsafe_content", detail, attr)])
    return check


class WorkflowWriteSchema(BaseSchema):
    """Writable fields of a workflow, declared in their documented order (the order of error entries)."""

    workflow_name = Text(required=True, trim=True, allow_blank=False,
                         validate=[max_length(128), safe_text("Workflow name", "workflow_name")])
    description = Text(validate=[max_length(490), safe_text("Description", "description")])
    is_active = StrictBoolean()
    status = Text(validate=max_length(16))
    deployment_type = fields.Raw(validate=one_of([d.value for d in DeploymentType]))
    source_settings = ConfigJSON(allow_none=True)
    destination_settings = ConfigJSON(allow_none=True)
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
    ordering = ordering_field(workflows.ORDERING, workflows.DEFAULT_ORDERING)


class SettingsSchemaQueryArgsSchema(BaseSchema):
    type = Text(load_default="src", validate=one_of(workflows.SCHEMA_TYPES))
    entity = Text(load_default="file", validate=one_of(workflows.SCHEMA_ENTITIES))


class OwnerCreateSchema(BaseSchema):
    user_id = UUIDField(required=True)
