"""Input of the execution read endpoints, shared by the API and the dashboard: status lists, log filters."""

from __future__ import annotations

import uuid

from marshmallow import ValidationError, fields, post_load

from unstract.models import STATUS_VALUES, LogLevel
from unstract.schemas.fields import BaseSchema, StrictInteger, Text, comma_separated, min_value, one_of, ordering_field
from unstract.services.execution_queries import EXECUTION_ORDERING, FILE_EXECUTION_ORDERING, LogFilter

EXECUTION_LEVEL = "null"
UUID_PATTERN = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
FILE_EXECUTION_SCOPE = f"^({EXECUTION_LEVEL}|{UUID_PATTERN})$"
STATUS_TEXT = f"^({'|'.join(STATUS_VALUES)})(,({'|'.join(STATUS_VALUES)}))*$"


def status_list_schema(*, non_empty: bool = False) -> dict:
    """OpenAPI schema of a body `status`: a list of statuses, or one comma-separated string of them."""
    as_list: dict = {"type": "array", "items": {"type": "string", "enum": list(STATUS_VALUES)}}
    if non_empty:
        as_list["minItems"] = 1
    return {"anyOf": [as_list, {"type": "string", "pattern": STATUS_TEXT}]}


class StatusList(fields.Field):
    """Comma-separated statuses (or, with `allow_list`, a JSON list of them): exact upper case,
    items trimmed, empty items ignored; an unknown one is `invalid_choice`."""

    default_error_messages = {"invalid": "Not a valid string."}

    def __init__(self, *args, choices=STATUS_VALUES, allow_list: bool = False, **kwargs):
        self.choices = frozenset(choices)
        self.allow_list = allow_list
        super().__init__(*args, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.split(",")
        elif not (self.allow_list and isinstance(value, list)):
            raise self.make_error("invalid")
        items = [item.strip() if isinstance(item, str) else item for item in value]
        items = [item for item in items if item != ""]
        for item in items:
            if not isinstance(item, str) or item not in self.choices:
                raise ValidationError(f'"{item}" is not a valid choice.')
        return tuple(dict.fromkeys(items))


def status_query() -> StatusList:
    """The `status` query parameter shared by the list endpoints (exact upper-case statuses, comma-separated)."""
    metadata = {**comma_separated(STATUS_VALUES), "description": "Comma-separated statuses."}
    return StatusList(load_default=tuple, metadata=metadata)


class FileExecutionScope(fields.Field):
    """A file execution UUID, or the literal `null` for execution-level rows only."""

    default_error_messages = {"invalid": "Must be a valid UUID or null."}

    def _deserialize(self, value, attr, data, **kwargs):
        if value == EXECUTION_LEVEL:
            return EXECUTION_LEVEL
        try:
            return uuid.UUID(value)
        except (TypeError, ValueError, AttributeError):
            raise self.make_error("invalid") from None


# --- Query arguments ---------------------------------------------------------------------------

class ExecutionQueryArgsSchema(BaseSchema):
    status = status_query()
    ordering = ordering_field(EXECUTION_ORDERING, "-created_at")


class FileExecutionQueryArgsSchema(BaseSchema):
    status = status_query()
    ordering = ordering_field(FILE_EXECUTION_ORDERING, "file_number")


class LogQueryArgsSchema(BaseSchema):
    file_execution_id = FileExecutionScope(load_default=None, metadata={
        "type": "string", "pattern": FILE_EXECUTION_SCOPE,
        "description": "A file execution id, or `null` for execution-level rows only."})
    log_level = Text(load_default=None, validate=one_of(tuple(LogLevel)),
                     metadata={"description": "Minimum level: DEBUG < INFO < WARN < ERROR."})
    after = StrictInteger(load_default=None, validate=min_value(0),
                          metadata={"description": "Only rows with a greater id (live tailing)."})

    @post_load
    def to_filter(self, data, **kwargs) -> LogFilter:
        scope = data["file_execution_id"]
        return LogFilter(
            file_execution_id=None if scope == EXECUTION_LEVEL else scope,
            execution_level_only=scope == EXECUTION_LEVEL,
            min_level=data["log_level"],
            after=data["after"],
        )


class ResultsQueryArgsSchema(BaseSchema):
    format = Text(load_default="json", validate=one_of(("json", "jsonl", "csv")),
                  metadata={"description": "json (an array), jsonl (one item per line) or csv (flattened)."})
