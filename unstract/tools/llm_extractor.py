"""`llm_extractor`: named fields of a document extracted by an LLM, coerced to their types.

The tool runs in the tool process like every tool (docs/EXECUTION.md, LLM extraction): the worker
resolves the adapter and passes its configuration, key included, with the call; nothing here logs it.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from unstract.errors import FieldMessage
from unstract.jsonschemas import LLM_DEFAULT_INSTRUCTIONS as DEFAULT_INSTRUCTIONS
from unstract.jsonschemas import FieldError
from unstract.llm.client import AdapterConfig, LLMClient, LLMError, Usage, redact, shared_client
from unstract.tools import ToolError, ToolLimits, ToolOutput, field_extractor
from unstract.tools.values import UNKNOWN, Unreadable, ValueFormat, parse_date, parse_number

ADAPTER_KEY = "adapter"  # the resolved adapter the worker adds to the settings of a call; never stored
# Calls the worker holds slots for (the adapter's max_concurrency across workers): per_field mode makes at
# most this many calls at once. Absent: the adapter's max_concurrency.
CALL_SLOTS_KEY = "call_slots"
SCALAR_TYPES = ("text", "number", "integer", "boolean", "date", "email", "json")
FIELD_TYPES = (*SCALAR_TYPES, "line_items")
REPAIR = "Your reply was not a JSON object ({reason}). Reply again with only the JSON object."
_FENCE = re.compile(r"^\s*```[A-Za-z]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE = {"true", "yes", "y", "1", "x", "checked"}
_FALSE = {"false", "no", "n", "0", "unchecked", ""}
_TYPE_SCHEMA = {"text": "string", "number": "number", "integer": "integer", "boolean": "boolean",
                "date": "string", "email": "string"}


class _Invalid(Unreadable):
    """A value that cannot be coerced to its field's type (the message, when any, says why)."""


# --- The request ---------------------------------------------------------------------------------

def value_schema(type_: str, description: str | None = None, columns: list[dict] | None = None) -> dict:
    """The JSON schema of one field's value; every one admits null."""
    if type_ == "line_items":
        properties = {column["name"]: value_schema(column.get("type", "text")) for column in columns or []}
        schema: dict[str, Any] = {"type": ["array", "null"], "items": {
            "type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}}
    elif type_ == "json":
        schema = {"type": ["object", "array", "string", "number", "boolean", "null"]}
    else:
        schema = {"type": [_TYPE_SCHEMA[type_], "null"]}
        if type_ == "date":
            schema["format"] = "date"
    if description is not None:
        schema["description"] = description
    return schema


def request_schema(fields: list[dict]) -> dict:
    properties = {f["name"]: value_schema(f["type"], f["prompt"], f.get("columns")) for f in fields}
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def messages_for(settings: dict, fields: list[dict], text: str, json_schema: bool) -> tuple[list[dict], dict]:
    """The pinned request shape: system + user messages and the response format (docs/EXECUTION.md)."""
    schema = request_schema(fields)
    system = settings.get("instructions") or DEFAULT_INSTRUCTIONS
    if json_schema:
        response_format = {"type": "json_schema",
                           "json_schema": {"name": "extraction", "strict": True, "schema": schema}}
    else:
        response_format = {"type": "json_object"}
        system = f"{system}\n\nThe JSON object must follow this JSON schema:\n{json.dumps(schema)}"
    user = f"Document:\n{text}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}], response_format


# --- The reply -----------------------------------------------------------------------------------

def parse_reply(content: str) -> dict:
    """The reply's JSON object (a Markdown code fence around it is removed); ValueError otherwise."""
    fenced = _FENCE.match(content or "")
    body = fenced.group(1) if fenced else (content or "")
    value = json.loads(body)
    if not isinstance(value, dict):
        raise ValueError(f"a JSON {type(value).__name__}, not an object")
    return value


def coerce(value: Any, type_: str, columns: list[dict] | None = None, warn=None,
           value_format: ValueFormat = UNKNOWN) -> Any:
    """The value as its type; Unreadable when it cannot be (a line item's bad cells become null with a
    WARN). Numbers and dates written as text are read by the one rule of unstract.tools.values."""
    if value is None:
        return None
    if type_ == "line_items":
        return _line_items(value, columns or [], warn, value_format)
    if type_ in ("number", "integer", "date"):
        return _SCALARS[type_](value, value_format)
    return _SCALARS[type_](value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise _Invalid()


def _number(value: Any, value_format: ValueFormat) -> int | float:
    if isinstance(value, bool):
        raise _Invalid()
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return parse_number(value, value_format)
    raise _Invalid()


def _integer(value: Any, value_format: ValueFormat) -> int:
    number = _number(value, value_format)
    if float(number).is_integer():
        return int(number)
    raise _Invalid("not a whole number")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _Invalid()


def _date(value: Any, value_format: ValueFormat) -> str:
    if isinstance(value, str):
        return parse_date(value, value_format)
    raise _Invalid()


def _email(value: Any) -> str:
    if isinstance(value, str) and _EMAIL.match(value.strip()):
        return value.strip()
    raise _Invalid()


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


_SCALARS = {"text": _text, "number": _number, "integer": _integer, "boolean": _boolean, "date": _date,
            "email": _email, "json": _json}


def _line_items(value: Any, columns: list[dict], warn, value_format: ValueFormat) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise _Invalid()
    rows = []
    for index, row in enumerate(value):
        item = {}
        for column in columns:
            name, type_ = column["name"], column.get("type", "text")
            try:
                item[name] = coerce(row.get(name), type_, value_format=value_format)
            except Unreadable as exc:
                if warn is not None:
                    warn(f"line item {index} column '{name}' value {row.get(name)!r} "
                         f"is not a valid {type_}{exc.suffix()}.")
                item[name] = None
        rows.append(item)
    return rows


def coerce_fields(fields: list[dict], reply: dict, warnings: list[str],
                  value_format: ValueFormat = UNKNOWN) -> dict:
    """Every field's coerced value; invalid -> null with a WARN; a required field left null fails the file."""
    output = {}
    for field in fields:
        name, type_ = field["name"], field["type"]
        raw = reply.get(name)
        try:
            output[name] = coerce(raw, type_, field.get("columns"),
                                  lambda message, name=name: warnings.append(f"field '{name}': {message}"),
                                  value_format)
        except Unreadable as exc:
            warnings.append(f"field '{name}' value {json.dumps(raw)[:200]} is not a valid {type_}{exc.suffix()}.")
            output[name] = None
        if output[name] is None and field.get("required"):
            raise ToolError(f"required field '{name}' not found.")
    return output


# --- Running -------------------------------------------------------------------------------------

class _Calls:
    """The usage of a run so far (every HTTP attempt counted, failed ones too)."""

    def __init__(self) -> None:
        self.usage = Usage()
        self.calls = 0
        self._lock = threading.Lock()  # per_field calls run in parallel

    def add(self, usage: Usage, calls: int) -> None:
        with self._lock:
            self.usage.add(usage)
            self.calls += calls


def extract(client: LLMClient, settings: dict, fields: list[dict], text: str, tally: _Calls) -> dict:
    """One extraction call for `fields`, with one repair retry when the reply is not a JSON object."""
    messages, response_format = messages_for(settings, fields, text, client.config.supports_json_schema)
    for attempt in range(2):
        try:
            reply = client.chat(messages, response_format)
        except LLMError as exc:
            tally.add(Usage(), exc.calls)
            raise
        tally.add(reply.usage, reply.calls)
        try:
            return parse_reply(reply.content)
        except ValueError as exc:
            if attempt:
                raise ToolError(f"the LLM reply is not a JSON object: {exc}") from None
            messages = [*messages, {"role": "assistant", "content": reply.content},
                        {"role": "user", "content": REPAIR.format(reason=exc)}]
    raise AssertionError("unreachable")


def run(source: bytes, mime_type: str, previous: dict[str, Any] | None, settings: dict[str, Any],
        limits: ToolLimits = ToolLimits()) -> ToolOutput:
    """Ask the adapter's model for the fields and coerce the answer (docs/EXECUTION.md, LLM extraction)."""
    started = time.monotonic()
    config = AdapterConfig.from_dict(settings[ADAPTER_KEY])
    fields, mode = settings["fields"], settings.get("mode", "single_pass")
    document_text, warnings = field_extractor.input_text(source, mime_type, previous, limits)
    limit = settings.get("max_input_chars", 200_000)
    text = document_text
    if len(text) > limit:
        warnings.append(f"input cut to max_input_chars={limit} characters (of {len(text)}).")
        text = text[:limit]
    tally = _Calls()
    try:
        reply = _ask(shared_client(config), settings, fields, mode, text, tally)
        output = coerce_fields(fields, reply, warnings, ValueFormat.from_settings(settings))
    except (LLMError, ToolError) as exc:
        raise ToolError(str(exc), usage=_usage(config, tally, mode, started), warnings=warnings) from None
    except Exception as exc:  # noqa: BLE001 - a bug here fails the file, and its message never carries the key
        message = redact(f"Internal error: {type(exc).__name__}: {exc}", config.api_key)
        raise ToolError(message, usage=_usage(config, tally, mode, started), warnings=warnings) from None
    metadata = _usage(config, tally, mode, started)
    return ToolOutput({"output": output, "metadata": metadata}, warnings, usage=metadata,
                      text=field_extractor.own_text(previous, document_text))


def _ask(client: LLMClient, settings: dict, fields: list[dict], mode: str, text: str, tally: _Calls) -> dict:
    if mode != "per_field" or len(fields) == 1:
        return extract(client, settings, fields, text, tally)
    workers = max(1, min(settings.get(CALL_SLOTS_KEY) or client.config.max_concurrency, len(fields)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        replies = list(pool.map(lambda field: extract(client, settings, [field], text, tally), fields))
    return {field["name"]: reply.get(field["name"]) for field, reply in zip(fields, replies, strict=True)}


def _usage(config: AdapterConfig, tally: _Calls, mode: str, started: float) -> dict:
    return {"adapter": config.name, "model": config.model, "mode": mode, "llm_calls": tally.calls,
            "usage": tally.usage.as_dict(), "cost_usd": config.cost(tally.usage) if tally.calls else None,
            "elapsed_seconds": round(time.monotonic() - started, 3)}


# --- Settings checks -----------------------------------------------------------------------------

def with_canonical_adapter_id(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings with `adapter_id` in one spelling (lower case, hyphenated), whichever the caller sent, so
    a stored step names its adapter as the adapter's own id reads (the schema has already checked it)."""
    return {**settings, "adapter_id": str(uuid.UUID(settings["adapter_id"]))}


def check_fields(fields: list[Any]) -> list[FieldMessage]:
    """What the schema cannot say: field names unique, line_items have columns with unique names."""
    errors: list[FieldMessage] = []
    seen: set[str] = set()
    for index, field in enumerate(fields):
        if not isinstance(field, dict):
            continue
        prefix = f"metadata.fields.{index}"
        if field.get("name") in seen:
            errors.append(FieldError(f"{prefix}.name", "unique", f"Duplicate field name: '{field['name']}'."))
        seen.add(field.get("name"))
        columns = field.get("columns")
        if field.get("type") == "line_items" and not columns:
            errors.append(FieldError(f"{prefix}.columns", "required", "line_items fields need columns."))
        names = [column.get("name") for column in columns or [] if isinstance(column, dict)]
        if len(names) != len(set(names)):
            errors.append(FieldError(f"{prefix}.columns", "unique", "Column names must be unique."))
    return errors
