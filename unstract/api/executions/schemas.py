"""Schemas of the execution read endpoints: executions, file executions and logs (§1.12–§1.14, §2.8)."""

from __future__ import annotations

from marshmallow import fields

from unstract.schemas.fields import BaseSchema, Timestamp, UUIDField

# --- Representations ---------------------------------------------------------------------------

class ExecutionSchema(BaseSchema):
    id = UUIDField()
    workflow = UUIDField()
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
    attempts = fields.Integer()
    created_at = Timestamp()
    modified_at = Timestamp()


class ExecutionLogSchema(BaseSchema):
    id = fields.Integer()
    wf_execution = UUIDField()
    file_execution = UUIDField(allow_none=True)
    event_time = Timestamp()
    data = fields.Raw(metadata={"description": (
        "The stored document: {timestamp, type, level, stage, log, step, execution_id, "
        "file_execution_id, organization_id}.")})
