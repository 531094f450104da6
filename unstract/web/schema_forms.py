"""JSON Schema <-> HTML form: fields to render from a schema and a document, and the document back from a post.

Generic over draft-07 object schemas. Each property becomes one field, by shape:

    boolean                          checkbox
    integer / number (null allowed)  number input; empty means absent (or null when the type allows it)
    string with enum                 select; labels from `enumNames` when present
    string (writeOnly or password)   password input, never echoed back; empty means absent
    string                           text input
    array of enum strings            checkbox group
    array of strings                 textarea, one item per line (blank lines dropped)
    array of objects                 repeating fieldset: one row of scalar inputs per item
    anything else                    textarea holding JSON

Input names are the attrs of the services' field errors: `<prefix>.<property>` and, for rows,
`<prefix>.<property>.<index>.<item property>`. So a ValidationFailed raised by a service lands next to its
input: `errors_by_attr(exc.messages)` gives the map that `build_fields` takes. Parsing never validates
beyond types (a number that is not a number, JSON that does not parse): the service does the rest.

Rows are added and removed without JavaScript by submit buttons named ROW_ACTION with the value
`add:<array input name>` or `remove:<array input name>:<index>` (see `apply_row_action`).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from unstract.errors import FieldMessage
from unstract.jsonschemas import PATTERN_HINTS, fill_defaults
from unstract.schemas.fields import BLANK, StrictInteger, integer_text
from unstract.schemas.parsing import REQUIRED, parse_value

ROW_ACTION = "_row"
SCALAR_WIDGETS = ("checkbox", "number", "select", "password", "text")


@dataclass
class FormField:
    """One input (or group of inputs) to render; `name` is also the attr its errors carry."""

    name: str
    label: str
    widget: str
    value: Any = None
    help: str = ""
    required: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)
    limits: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    rows: list[list[FormField]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    row_label: str = "row"
    suggestions: list[str] = field(default_factory=list)  # offered by a text input (datalist), not enforced

    @property
    def display(self) -> str:
        """Read-only text of the value, for people who may not edit."""
        return display_text(self)


# --- Shapes -----------------------------------------------------------------------------------

def _types(prop: Mapping) -> list[str]:
    kind = prop.get("type")
    return list(kind) if isinstance(kind, list) else [kind] if kind else []


def widget_for(prop: Mapping) -> str:
    """The widget of a property schema (see the module docstring)."""
    types = [t for t in _types(prop) if t != "null"]
    items = prop.get("items") if isinstance(prop.get("items"), Mapping) else {}
    if types == ["boolean"]:
        return "checkbox"
    if types in (["integer"], ["number"]):
        return "number"
    if types == ["string"]:
        if "enum" in prop:
            return "select"
        return "password" if prop.get("writeOnly") or prop.get("format") == "password" else "text"
    if types == ["array"] and _types(items) == ["string"]:
        return "checkboxes" if "enum" in items else "lines"
    if types == ["array"] and _types(items) == ["object"] and _scalar_object(items):
        return "rows"
    return "json"


def _scalar_object(schema: Mapping) -> bool:
    props = schema.get("properties") or {}
    return bool(props) and all(widget_for(p) in SCALAR_WIDGETS for p in props.values())


def label_for(key: str, prop: Mapping) -> str:
    """The schema's title, else the key in words: `maxFiles` -> `Max files`, `max_pages` -> `Max pages`."""
    if prop.get("title"):
        return str(prop["title"])
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ").split()
    return " ".join(words).capitalize() if words else key


def _choices(prop: Mapping) -> list[tuple[str, str]]:
    values = prop.get("enum") or []
    names = prop.get("enumNames") or []
    labels = names if len(names) == len(values) else [str(v) for v in values]
    return [(str(v), str(label)) for v, label in zip(values, labels, strict=True)]


def _limits(prop: Mapping, widget: str) -> dict[str, Any]:
    if widget == "number":
        limits = {"step": "1" if "integer" in _types(prop) else "any"}
        limits.update({key: prop[word] for key, word in (("min", "minimum"), ("max", "maximum")) if word in prop})
        return limits
    return {"maxlength": prop["maxLength"]} if widget in ("text", "password") and "maxLength" in prop else {}


# --- Rendering --------------------------------------------------------------------------------

def build_fields(schema: Mapping, document: Any, prefix: str,
                 errors: Mapping[str, list[str]] | None = None) -> list[FormField]:
    """Fields for every property of `schema`, showing `document` (schema defaults fill what is absent)."""
    errors = errors or {}
    values = fill_defaults(document if isinstance(document, dict) else {}, dict(schema))
    required = set(schema.get("required") or [])
    return [_field(key, prop, values.get(key), f"{prefix}.{key}", key in required, errors)
            for key, prop in (schema.get("properties") or {}).items() if isinstance(prop, Mapping)]


def _field(key: str, prop: Mapping, value: Any, name: str, required: bool,
           errors: Mapping[str, list[str]]) -> FormField:
    widget = widget_for(prop)
    item_schema = prop.get("items") if isinstance(prop.get("items"), Mapping) else {}
    result = FormField(name=name, label=label_for(key, prop), widget=widget, help=str(prop.get("description", "")),
                       required=required, limits=_limits(prop, widget),
                       choices=_choices(item_schema if widget == "checkboxes" else prop))
    result.value = _widget_value(widget, value)
    result.errors = _errors_for(name, widget, errors)
    if widget == "rows":
        result.rows = _rows(item_schema, value, name, prop.get("minItems", 0), errors)
        result.columns = [label_for(k, p) for k, p in (item_schema.get("properties") or {}).items()]
        result.row_label = result.label.lower().removesuffix("s") or "row"
    return result


def _widget_value(widget: str, value: Any) -> Any:
    if widget == "checkbox":
        return value is True
    if widget == "checkboxes":
        return [str(v) for v in value] if isinstance(value, list) else []
    if widget == "lines":
        return "\n".join(str(v) for v in value) if isinstance(value, list) else ("" if value is None else str(value))
    if widget == "json":
        return "" if value is None else json.dumps(value, indent=2)
    if widget in ("password", "rows"):
        return None
    return "" if value is None else str(value)


def _errors_for(name: str, widget: str, errors: Mapping[str, list[str]]) -> list[str]:
    """Errors of this input; list-like widgets also take their items' errors (`folders.2`)."""
    return [message for attr, messages in errors.items() if _takes(name, widget, attr) for message in messages]


def _takes(name: str, widget: str, attr: str) -> bool:
    """Whether an error with `attr` belongs to the input `name` (rows: the row itself, not its inputs)."""
    if attr == name:
        return True
    if not attr.startswith(name + ".") or widget not in ("checkboxes", "lines", "json", "rows"):
        return False
    return widget != "rows" or attr.count(".") == name.count(".") + 1


def _rows(item_schema: Mapping, value: Any, name: str, min_items: int,
          errors: Mapping[str, list[str]]) -> list[list[FormField]]:
    items = value if isinstance(value, list) else []
    items = items or [{} for _ in range(min(max(min_items, 0), 1))]
    return [build_fields(item_schema, item, f"{name}.{index}", errors) for index, item in enumerate(items)]


def placed(fields: Iterable[FormField], attr: str | None) -> bool:
    """Whether some input of `fields` (rows included) shows the errors of `attr`."""
    return bool(attr) and any(
        _takes(item.name, item.widget, attr) or any(placed(row, attr) for row in item.rows) for item in fields)


def display_text(item: FormField) -> str:
    """What a read-only view shows for a field."""
    labels = dict(item.choices)
    if item.widget == "checkbox":
        return "Yes" if item.value else "No"
    if item.widget == "select":
        return labels.get(item.value, item.value) or "—"
    if item.widget == "checkboxes":
        return ", ".join(labels.get(v, v) for v in item.value) or "—"
    if item.widget == "lines":
        return ", ".join(line for line in item.value.splitlines() if line) or "—"
    if item.widget == "password":
        return "(hidden)"
    if item.widget == "rows":
        return ", ".join(row[0].display for row in item.rows if row) or "—"
    return item.value or "—"


# --- Reading a post ---------------------------------------------------------------------------

def read_form(schema: Mapping, form: MultiDict, prefix: str, *,
              keep_blank_rows: bool = False) -> tuple[dict, list[FieldMessage]]:
    """The JSON document a post describes, and the parse problems (attr = input name).

    Inputs that could not be parsed keep their raw text in the document, so a re-rendered form shows
    what was typed. Blank rows (every required input empty) are dropped unless `keep_blank_rows`.
    """
    document: dict[str, Any] = {}
    problems: list[FieldMessage] = []
    for key, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, Mapping):
            continue
        present, value, problem = _read_property(prop, form, f"{prefix}.{key}", keep_blank_rows)
        if present:
            document[key] = value
        problems.extend(problem)
    return document, problems


def _read_property(prop: Mapping, form: MultiDict, name: str,
                   keep_blank_rows: bool) -> tuple[bool, Any, list[FieldMessage]]:
    widget = widget_for(prop)
    raw = form.get(name, "")
    if widget not in ("checkbox", "checkboxes", "rows") and name not in form:
        return False, None, []
    if widget == "checkbox":
        return True, name in form, []
    if widget == "checkboxes":
        return True, form.getlist(name), []
    if widget == "lines":
        return True, [line.strip() for line in raw.splitlines() if line.strip()], []
    if widget == "rows":
        return _read_rows(prop["items"], form, name, keep_blank_rows)
    if widget == "number":
        return _read_number(prop, raw.strip(), name)
    if widget == "select":
        if raw == "" and "" not in prop.get("enum", []):
            return False, None, []  # the "—" choice of an optional select: not set
        return True, next((v for v in prop.get("enum", []) if str(v) == raw), raw), []
    if widget == "password":
        return bool(raw), raw, []
    if widget == "json":
        return _read_json(raw, name)
    return True, raw, []


def _read_number(prop: Mapping, raw: str, name: str) -> tuple[bool, Any, list[FieldMessage]]:
    if raw == "":
        return "null" in _types(prop), None, []
    if "integer" in _types(prop):
        number, problems = parse_value(StrictInteger(), raw, name)
        return True, raw if problems else number, problems
    try:
        return True, float(raw), []
    except ValueError:
        return True, raw, [FieldMessage("invalid", "A valid number is required.", name)]


def _read_json(raw: str, name: str) -> tuple[bool, Any, list[FieldMessage]]:
    if not raw.strip():
        return False, None, []
    try:
        return True, json.loads(raw), []
    except ValueError:
        return True, raw, [FieldMessage("invalid", "Must be valid JSON.", name)]


def _read_rows(item_schema: Mapping, form: MultiDict, name: str,
               keep_blank: bool) -> tuple[bool, list, list[FieldMessage]]:
    pattern = re.compile(rf"^{re.escape(name)}\.(\d+)\.")
    indexes = sorted({int(m.group(1)) for key in form for m in [pattern.match(key)] if m})
    rows, problems = [], []
    for index in indexes:
        row, row_problems = read_form(item_schema, form, f"{name}.{index}")
        if not keep_blank and _is_blank(item_schema, form, f"{name}.{index}"):
            continue
        rows.append(row)
        problems.extend(row_problems)
    return True, rows, problems


def _is_blank(item_schema: Mapping, form: MultiDict, row_name: str) -> bool:
    keys = list(item_schema.get("required") or []) or list(item_schema.get("properties") or {})
    return all(not form.get(f"{row_name}.{key}", "").strip() for key in keys)


def apply_row_action(document: dict, action: str, prefix: str) -> dict:
    """Add an empty row to, or remove one row from, an array of the document (ROW_ACTION buttons)."""
    verb, _, rest = action.partition(":")
    name, _, index = rest.partition(":") if verb == "remove" else (rest, "", "")
    key = name.removeprefix(prefix + ".")
    rows = document.get(key)
    if not isinstance(rows, list) or "." in key:
        return document
    if verb == "add":
        rows.append({})
    elif verb == "remove" and (position := integer_text(index)) is not None and 0 <= position < len(rows):
        rows.pop(position)
    return document


# --- Errors -----------------------------------------------------------------------------------

def friendly(message: FieldMessage) -> str:
    """A service's field message in words for a form (the API keeps the validator's wording)."""
    detail = message.detail
    if message.code == "required":
        return REQUIRED
    if detail.startswith("[]") and ("should be non-empty" in detail or "is too short" in detail):
        return "Add at least one."
    if detail.startswith("'' ") and (message.code == "min_length" or " does not match " in detail):
        return BLANK
    if " does not match " in detail:
        value, _, pattern = detail.partition(" does not match ")
        hint = PATTERN_HINTS.get(_unquoted(pattern))
        return f"{value} is not in the expected format." + (f" {hint}" if hint else "")
    return detail


def _unquoted(text: str) -> str:
    """The pattern the validator quoted (Python's repr) in its message."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, str) else text


def errors_by_attr(messages: Iterable[FieldMessage]) -> dict[str, list[str]]:
    """attr -> friendly messages, in the order they came (attr None is the key '')."""
    grouped: dict[str, list[str]] = {}
    for message in messages:
        grouped.setdefault(message.attr or "", []).append(friendly(message))
    return grouped


def unplaced(messages: Iterable[FieldMessage], fields: list[FormField]) -> list[str]:
    """Messages no input shows (attr null, or no input of its own): shown above the form."""
    return [friendly(m) for m in messages if not placed(fields, m.attr)]
