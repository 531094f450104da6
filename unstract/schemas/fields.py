"""Marshmallow fields and validators that speak the API's error codes and messages (docs/API.md, Errors)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from marshmallow import ValidationError, fields, validate

from unstract.fastpath import FastDumpSchema, WireText, passes_wire_text, wire_timestamp
from unstract.sizes import CONFIG_JSON_BYTES, json_size_exceeds

INTEGER_TEXT = re.compile(r"^[+-]?\d+$")
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


class StrictInteger(fields.Integer):
    """An int (never a bool or a fraction), or a base-10 integer string."""

    default_error_messages = {"invalid": "A valid integer is required."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and INTEGER_TEXT.match(value.strip()):
            return int(value.strip())
        raise self.make_error("invalid")


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


def timestamp_now() -> datetime:
    return datetime.now(UTC)
