"""Marshmallow fields and validators that speak the API's error codes and messages (docs/API.md, Errors)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from marshmallow import ValidationError, fields, validate

from unstract.fastpath import FastDumpSchema, WireText, passes_wire_text, wire_timestamp
from unstract.sizes import CONFIG_JSON_BYTES, json_size_exceeds

# ASCII digits and an optional minus, nothing else: no spaces, no `+`, no other scripts' digits, which
# Python's int() would all accept (docs/API.md, Integers in text).
INTEGER_TEXT = re.compile(r"-?[0-9]+")
BLANK = "This field may not be blank."


class BaseSchema(FastDumpSchema):
    """Unknown and read-only fields are ignored (docs/API.md, Request bodies); dumps take the fast path."""

    class Meta:
        unknown = "exclude"


@passes_wire_text
class Timestamp(fields.DateTime):
    """ISO-8601 UTC with microseconds and Z (docs/API.md, Timestamps and formats)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or type(value) is WireText:
            return value
        return wire_timestamp(value)


@passes_wire_text
class UUIDField(fields.UUID):
    """A UUID; dumps a WireText (unstract.fastpath) as it is."""

    default_error_messages = {"invalid_uuid": "Must be a valid UUID."}

    def _serialize(self, value, attr, obj, **kwargs):
        if type(value) is WireText:
            return value
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str | uuid.UUID):
            raise self.make_error("invalid_uuid")
        return super()._deserialize(value, attr, data, **kwargs)


def integer_text(text: str) -> int | None:
    """The integer `text` spells under the API's rule for integers in text, else None (also past the
    digits Python converts: thousands of them)."""
    if not INTEGER_TEXT.fullmatch(text):
        return None
    try:
        return int(text)
    except ValueError:
        return None


class StrictInteger(fields.Integer):
    """An int (never a bool or a fraction), or a string of `integer_text` (query parameters, form fields)."""

    default_error_messages = {"invalid": "A valid integer is required."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        number = integer_text(value) if isinstance(value, str) else None
        if number is None:
            raise self.make_error("invalid")
        return number


class StrictBoolean(fields.Boolean):
    """JSON booleans only in bodies; `true`/`false` in any case where text is expected."""

    default_error_messages = {"invalid": "Must be a valid boolean."}

    def __init__(self, *args, text: bool = False, **kwargs):
        self.accept_text = text
        super().__init__(*args, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        if self.accept_text and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self.make_error("invalid")


class ConfigJSON(fields.Raw):
    """A JSON configuration value (workflow settings, connector and tool metadata, endpoint configuration),
    stored as sent; at most CONFIG_JSON_BYTES as compact JSON, since every list of its owner carries it.
    With `object_only`, it must be a JSON object."""

    default_error_messages = {
        "invalid": "Must be a JSON object.",
        "max_length": f"Ensure this field has no more than {CONFIG_JSON_BYTES} bytes.",
    }

    def __init__(self, *args, object_only: bool = False, **kwargs):
        self.object_only = object_only
        if object_only:
            kwargs["metadata"] = {"type": "object", **kwargs.get("metadata", {})}
        super().__init__(*args, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if self.object_only and not isinstance(value, dict):
            raise self.make_error("invalid")
        if json_size_exceeds(value, CONFIG_JSON_BYTES):
            raise self.make_error("max_length")
        return value


class Text(fields.String):
    """A string that may be trimmed first; never accepts numbers or other types."""

    default_error_messages = {"invalid": "Not a valid string."}

    def __init__(self, *args, trim: bool = False, allow_blank: bool = True, **kwargs):
        self.trim = trim
        self.allow_blank = allow_blank
        super().__init__(*args, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        value = value.strip() if self.trim else value
        if not self.allow_blank and value == "":
            raise ValidationError(BLANK)
        return value


class ItemList(fields.List):
    default_error_messages = {"invalid": "Expected a list of items."}


def max_length(limit: int) -> validate.Length:
    return validate.Length(max=limit, error=f"Ensure this field has no more than {limit} characters.")


def min_value(limit: int) -> validate.Range:
    return validate.Range(min=limit, error=f"Ensure this value is greater than or equal to {limit}.")


def max_value(limit: int) -> validate.Range:
    return validate.Range(max=limit, error=f"Ensure this value is less than or equal to {limit}.")


def one_of(choices) -> validate.OneOf:
    return validate.OneOf(list(choices), error='"{input}" is not a valid choice.')


def comma_separated(values) -> dict:
    """OpenAPI metadata of a query parameter taking a comma-separated list of `values` (`a,b`: style form,
    explode false); the marshmallow field still reads it as one string."""
    return {"type": "array", "items": {"type": "string", "enum": list(values)}, "style": "form", "explode": False}


def ordering_field(names, default: str) -> Text:
    """The `ordering` query parameter over `names`, each optionally prefixed with `-` (docs/API.md, Ordering)."""
    names = list(names)
    terms = [term for name in names for term in (name, f"-{name}")]
    description = f"Comma-separated: {', '.join(names)}; `-` for descending; default {default}."
    return Text(load_default=None, metadata={**comma_separated(terms), "description": description})


def timestamp_now() -> datetime:
    return datetime.now(UTC)
