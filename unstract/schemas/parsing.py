"""Reading input through the schemas: marshmallow's messages as the contract's entries, text checks, pages.

The API and the dashboard both parse with these, so a rule and its message are written once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from marshmallow import Schema, ValidationError
from marshmallow.fields import Field

from unstract import errors
from unstract.errors import FieldMessage
from unstract.schemas.fields import BaseSchema, StrictInteger, min_value

REQUIRED = "This field is required."
# Marshmallow's stock texts, translated to the API's (docs/API.md, Errors).
STOCK_MESSAGES = {
    "Missing data for required field.": REQUIRED,
    "Field may not be null.": "This field may not be null.",
    "Not a valid UUID.": "Must be a valid UUID.",
    "Not a valid integer.": "A valid integer is required.",
    "Not a valid boolean.": "Must be a valid boolean.",
    "Not a valid mapping type.": "Must be a JSON object.",
    "Not a valid list.": "Expected a list of items.",
}
MESSAGE_CODES = [
    (re.compile(r"^This field is required\."), "required"),
    (re.compile(r"^This field may not be null\."), "null"),
    (re.compile(r"^This field may not be blank\."), "blank"),
    (re.compile(r"^Ensure this field has no more than"), "max_length"),
    (re.compile(r"^Ensure this field has at least"), "min_length"),
    (re.compile(r"^Ensure this value is greater than or equal to"), "min_value"),
    (re.compile(r"^Ensure this value is less than or equal to"), "max_value"),
    (re.compile(r"is not a valid choice"), "invalid_choice"),
]
MAX_PAGE_SIZE = 1000


def message_code(detail: str) -> str:
    return next((code for pattern, code in MESSAGE_CODES if pattern.search(detail)), "invalid")


def flatten_messages(messages, prefix: str | None = None) -> list[FieldMessage]:
    """Marshmallow's nested {field: [msg] | {index: ...}} -> envelope entries with dotted attrs."""
    if isinstance(messages, Mapping):
        out: list[FieldMessage] = []
        for key, value in messages.items():
            attr = str(key) if prefix is None else f"{prefix}.{key}"
            if key == "_schema":
                attr = prefix
            out.extend(flatten_messages(value, attr))
        return out
    if isinstance(messages, FieldMessage):
        return [messages]
    if isinstance(messages, list | tuple):
        return [m for item in messages for m in flatten_messages(item, prefix)]
    detail = STOCK_MESSAGES.get(str(messages), str(messages))
    return [FieldMessage(message_code(detail), detail, prefix)]


def load_schema(schema: Schema, data: Mapping, *, partial: bool = False):
    """schema.load, with failures raised as the contract's 400 envelope."""
    try:
        return schema.load(data, partial=partial)
    except ValidationError as exc:
        raise errors.ValidationFailed.of(flatten_messages(exc.messages)) from None


def parse(schema: Schema, data: Mapping, *, partial: bool = False) -> tuple[dict, list[FieldMessage]]:
    """The valid part of `data` and its field errors, for services that add their own rules."""
    try:
        return schema.load(data, partial=partial), []
    except ValidationError as exc:
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        return valid, flatten_messages(exc.messages)


def parse_value(field: Field, raw, attr: str | None = None) -> tuple[object, list[FieldMessage]]:
    """One value through one field (None when it fails) and its field errors."""
    try:
        return field.deserialize(raw), []
    except ValidationError as exc:
        return None, flatten_messages(exc.messages, attr)


def text_problems(value, attr: str | None = None) -> list[FieldMessage]:
    """NUL and lone surrogate characters anywhere in a parsed body or query (no database stores them)."""
    problems, stack = [], [(attr, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in reversed(list(item.items())))
            stack.extend((path, k) for k in item if isinstance(k, str))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}" if path else str(i), v) for i, v in reversed(list(enumerate(item))))
        elif isinstance(item, str):
            problems.extend(_string_problems(item, path))
    return problems


def _string_problems(text: str, attr: str | None) -> list[FieldMessage]:
    if "\x00" in text:
        return [FieldMessage("null_characters_not_allowed", "Null characters are not allowed.", attr)]
    surrogate = next((ch for ch in text if "\ud800" <= ch <= "\udfff"), None)
    if surrogate is not None:
        return [FieldMessage("surrogate_characters_not_allowed",
                             f"Surrogate characters are not allowed: U+{ord(surrogate):X}.", attr)]
    return []


# --- Pages -----------------------------------------------------------------------------------

class PageArgsSchema(BaseSchema):
    page = StrictInteger(load_default=1, validate=min_value(1))
    page_size = StrictInteger(load_default=50, validate=min_value(1))


def page_args(args: Mapping) -> tuple[int, int]:
    """(page, page size) from query arguments; 400 for a page or size that is not a positive integer."""
    loaded = load_schema(PageArgsSchema(), args)
    return loaded["page"], min(loaded["page_size"], MAX_PAGE_SIZE)


def page_number(raw: str | None, default: int = 1) -> int:
    """A page number as the API reads it; where the API answers 400, a page shows `default` instead."""
    number, problems = parse_value(PageArgsSchema().fields["page"], raw)
    return default if problems else number
