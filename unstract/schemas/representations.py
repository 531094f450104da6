"""Each resource's representation, declared once: the output schema names its fields in the order they are
shown and the model attribute each is read from (`attribute=`, where the two differ).

From that declaration come the columns a list page selects (`read_attributes`: the fields that are
columns of the model) and the presenters' values (`row_values`); a presenter adds only what is computed
(the fields that are not columns), and the schema's dump renames and formats.
"""

from __future__ import annotations

from marshmallow import fields
from sqlalchemy import case, null
from sqlalchemy import inspect as sa_inspect

from unstract.schemas.fields import BaseSchema, Timestamp, UUIDField
from unstract.sizes import LIST_RESULT_BYTES


def read_attributes(schema_class: type[BaseSchema], model: type) -> tuple[str, ...]:
    """The model's column attributes the schema's fields read, in the schema's order."""
    columns = set(sa_inspect(model).column_attrs.keys())
    names = (field.attribute or name for name, field in schema_class().dump_fields.items())
    return tuple(dict.fromkeys(name for name in names if name in columns))


def row_values(row, attributes: tuple[str, ...]) -> dict:
    """The attributes of a model object or a plain row, by name, as the schema reads them."""
    return {name: getattr(row, name) for name in attributes}


# --- Results in lists: shown up to LIST_RESULT_BYTES, else null with result_truncated ----------

def bounded_result_columns(model: type, attributes: tuple[str, ...]) -> tuple:
    """A list page's columns: `result` only when its stored size is small (the database never sends a
    large one), and `result_size` to tell the two apart (result_truncated)."""
    bounded = case((model.result_size <= LIST_RESULT_BYTES, model.result), else_=null()).label("result")
    return tuple(bounded if name == "result" else name for name in attributes) + ("result_size",)


def result_truncated(row) -> bool:
    """Whether a list row's result was left out (bounded_result_columns): its size is above the bound."""
    return row.result_size > LIST_RESULT_BYTES


class UsageSchema(BaseSchema):
    prompt_tokens = fields.Integer()
    completion_tokens = fields.Integer()
    total_tokens = fields.Integer()
    llm_calls = fields.Integer(metadata={"description": "Every HTTP call made, retries included."})
    cost_usd = fields.Float(allow_none=True, metadata={"description": "Null when no call had a known price."})


class ExecutionSchema(BaseSchema):
    id = UUIDField()
    workflow = UUIDField(attribute="workflow_id")
    workflow_name = fields.String()
    pipeline_id = fields.Raw(allow_none=True, metadata={"description": "Always null."})
    execution_mode = fields.String()
    execution_method = fields.String()
    execution_type = fields.String()
    execution_log_id = fields.String()
    status = fields.String()
    total_files = fields.Integer()
    successful_files = fields.Integer()
    failed_files = fields.Integer()
    error_message = fields.String()
    attempts = fields.Integer()
    execution_time = fields.Float()
    use_file_history = fields.Boolean()
    awaiting_action = fields.Boolean()
    next_step = fields.Integer(allow_none=True)
    total_steps = fields.Integer()
    usage = fields.Nested(UsageSchema, metadata={"description": "The LLM usage of the execution's files."})
    retry_of = UUIDField(allow_none=True, metadata={"description": (
        "The execution whose failed and stopped files this one runs again (POST …/retry/); null otherwise.")})
    created_at = Timestamp()
    modified_at = Timestamp()


class FileExecutionSchema(BaseSchema):
    id = UUIDField()
    file_number = fields.Integer()
    file_name = fields.String()
    file_path = fields.String(allow_none=True)
    file_size = fields.Integer()
    file_hash = fields.String()
    mime_type = fields.String()
    status = fields.String()
    execution_time = fields.Float(allow_none=True)
    execution_error = fields.String(allow_none=True)
    result = fields.Raw(allow_none=True)
    result_truncated = fields.Boolean(metadata={"description": (
        "True when `result` is larger than 64 KiB and was left out of this list (null); "
        "the one-row endpoint returns it whole.")})
    attempts = fields.Integer()
    usage = fields.Nested(UsageSchema, metadata={"description": "The LLM usage of the file's tools."})
    created_at = Timestamp()
    modified_at = Timestamp()


class ExecutionLogSchema(BaseSchema):
    id = fields.Integer()
    wf_execution = UUIDField(attribute="execution_id")
    file_execution = UUIDField(attribute="file_execution_id", allow_none=True)
    event_time = Timestamp()
    data = fields.Raw(metadata={"description": (
        "The stored document: {timestamp, type, level, stage, log, step, execution_id, "
        "file_execution_id, organization_id}.")})


class FileHistorySchema(BaseSchema):
    id = UUIDField()
    workflow = UUIDField(attribute="workflow_id")
    cache_key = fields.String()
    provider_file_uuid = fields.String(allow_none=True)
    file_path = fields.String(allow_none=True)
    status = fields.String()
    execution_count = fields.Integer()
    error = fields.String()
    result = fields.Raw(allow_none=True)
    result_truncated = fields.Boolean(metadata={"description": (
        "True when `result` is larger than 64 KiB and was left out of this list (null); "
        "GET …/file-histories/{id}/ returns it whole.")})
    metadata = fields.Raw(attribute="metadata_")
    created_at = Timestamp()
    modified_at = Timestamp()
    max_execution_count = fields.Integer()
    has_exceeded_limit = fields.Boolean()


class ToolInstanceSchema(BaseSchema):
    id = UUIDField()
    workflow = UUIDField(attribute="workflow_id")
    tool_id = fields.String()
    step = fields.Integer()
    metadata = fields.Dict(attribute="metadata_")
    created_at = Timestamp()
    modified_at = Timestamp()


class WorkflowToolInstanceSchema(ToolInstanceSchema):
    """A tool instance inside a workflow: its metadata documented as any JSON value, as it always was."""

    metadata = fields.Raw(attribute="metadata_")


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
