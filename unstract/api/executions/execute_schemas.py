"""Schemas of POST workflow/execute/ (docs/EXECUTION.md, The execute call)."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validates_schema

from unstract.schemas.fields import BaseSchema, StrictBoolean, StrictInteger, UUIDField, max_value, min_value, one_of

ACTIONS = ("START", "NEXT", "STOP", "CONTINUE")


class ExecuteSchema(BaseSchema):
    workflow_id = UUIDField(required=True)
    execution_id = UUIDField(load_default=None, allow_none=True)
    execution_action = fields.String(load_default=None, allow_none=True, validate=one_of(ACTIONS))
    timeout = StrictInteger(load_default=300, validate=[min_value(0), max_value(300)])
    use_file_history = StrictBoolean(load_default=None, allow_none=True)
    files = fields.Raw(load_default=None, metadata={"enum": [None],
                                                    "description": "multipart only: repeated file parts"})

    @validates_schema
    def _no_files_in_json(self, data, **kwargs):
        if data.get("files") is not None:
            raise ValidationError("Files must be sent as multipart/form-data parts named 'files'.", "files")


class ExecuteFormSchema(ExecuteSchema):
    """The same fields as multipart text parts: booleans as true/false in any case; a part cannot be null,
    so a field is left out instead."""

    execution_id = UUIDField(load_default=None, allow_none=False)
    execution_action = fields.String(load_default=None, allow_none=False, validate=one_of(ACTIONS))
    use_file_history = StrictBoolean(load_default=None, allow_none=False, text=True)
    files = fields.Raw(load_default=None, allow_none=False, metadata={
        "type": "array", "items": {"type": "string", "format": "binary"}, "description": "The files to process."})

    @validates_schema
    def _no_files_in_json(self, data, **kwargs):
        return None


class FileResultSchema(BaseSchema):
    file_name = fields.String()
    file_execution_id = fields.String()
    status = fields.String()
    result = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)
    metadata = fields.Dict()


class ExecuteResponseSchema(BaseSchema):
    workflow_id = fields.String()
    execution_id = fields.String()
    execution_status = fields.String()
    log_id = fields.String()
    error = fields.String(allow_none=True)
    result = fields.List(fields.Nested(FileResultSchema), allow_none=True)
