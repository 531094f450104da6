"""`field_extractor`: named values found by regular expressions, converted by type."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from unstract.errors import FieldMessage
from unstract.jsonschemas import FieldError
from unstract.tools import ToolError, ToolLimits, ToolOutput, text_extractor
from unstract.tools.values import Unreadable, ValueFormat, parse_date, parse_number


@dataclass(frozen=True)
class _Rule:
    """One extraction rule with its pattern compiled once per run."""

    name: str
    regex: re.Pattern[str]
    group: int
    type: str
    required: bool


def run(
    source: bytes, mime_type: str, previous: dict[str, Any] | None, settings: dict[str, Any],
    limits: ToolLimits = ToolLimits(),
) -> ToolOutput:
    """Apply every rule to the text, in order; one output key per rule name."""
    text, warnings = input_text(source, mime_type, previous, limits)
    value_format = ValueFormat.from_settings(settings)
    output: dict[str, Any] = {}
    for rule in _compile_rules(settings.get("rules") or []):
        output[rule.name] = _extract(rule, text, value_format, warnings)
    return ToolOutput(output, warnings, text=own_text(previous, text))


def input_text(
    source: bytes, mime_type: str, previous: dict[str, Any] | None, limits: ToolLimits,
) -> tuple[str, list[str]]:
    """The previous step's `text` when it is a string, else the text extracted with default settings
    (cut at the same limit as the text extractor's), with the extraction's warnings (an empty text among
    them: without it a scan would only show as fields not found)."""
    if _has_text(previous):
        return previous["text"], []
    extracted = text_extractor.run(source, mime_type, None, {}, limits)
    return extracted.output["text"], list(extracted.warnings)


def _has_text(previous: dict[str, Any] | None) -> bool:
    return isinstance(previous, dict) and isinstance(previous.get("text"), str)


def own_text(previous: dict[str, Any] | None, text: str) -> str | None:
    """The text to report as extracted by this step: None when it came from the previous step's output
    (that step reported it already), so the text crosses the process boundary once."""
    return None if _has_text(previous) else text


def _compile_rules(rules: list[dict[str, Any]]) -> list[_Rule]:
    """Compile each rule's pattern once, with re.MULTILINE."""
    compiled = []
    for rule in rules:
        try:
            regex = re.compile(rule["pattern"], re.MULTILINE)
        except (re.error, RecursionError, OverflowError) as exc:
            raise ToolError(f"field '{rule['name']}' has an invalid regular expression: {exc}.") from exc
        compiled.append(
            _Rule(
                name=rule["name"],
                regex=regex,
                group=int(rule.get("group", 0)),
                type=rule.get("type", "string"),
                required=bool(rule.get("required", False)),
            )
        )
    return compiled


def _extract(rule: _Rule, text: str, value_format: ValueFormat, warnings: list[str]) -> Any:
    """The converted value of one rule, None when missing or not certainly readable; raises ToolError for
    a required rule."""
    raw = _match(rule, text)
    if raw is None:
        if rule.required:
            raise ToolError(f"required field '{rule.name}' not found.")
        return None
    try:
        return convert(raw, rule.type, value_format)
    except Unreadable as exc:
        message = f"field '{rule.name}' value '{raw}' is not a valid {rule.type}{exc.suffix()}."
        if rule.required:
            raise ToolError(message) from None
        warnings.append(message)
        return None


def _match(rule: _Rule, text: str) -> str | None:
    """Trimmed text of the rule's group in the first match; None when absent or the group took no part."""
    found = rule.regex.search(text)
    if found is None or rule.group > rule.regex.groups:
        return None
    value = found.group(rule.group)
    return None if value is None else value.strip()


def convert(raw: str, type_: str, value_format: ValueFormat) -> Any:
    """Convert a matched value to `string`, `number` or `date` (`YYYY-MM-DD`); Unreadable when it is not
    certainly one (unstract.tools.values)."""
    if type_ == "number":
        return parse_number(raw, value_format)
    if type_ == "date":
        return parse_date(raw, value_format)
    return raw


def check_field_rules(rules: list[Any]) -> list[FieldMessage]:
    """The settings checks that a schema cannot express: regex compiles, group exists, names unique."""
    errors: list[FieldMessage] = []
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        errors.extend(_check_rule(index, rule, seen))
    return errors


def _check_rule(index: int, rule: dict[str, Any], seen: set[str]) -> list[FieldMessage]:
    """Errors of one rule, sorted by attr; records its name in seen."""
    prefix = f"metadata.rules.{index}"
    errors: list[FieldMessage] = []
    try:
        regex = re.compile(rule.get("pattern", ""), re.MULTILINE)
    except (re.error, RecursionError, OverflowError) as exc:
        errors.append(FieldError(f"{prefix}.pattern", "invalid_regex", f"Invalid regular expression: {exc}."))
    else:
        group = rule.get("group", 0)
        if isinstance(group, int) and group > regex.groups:
            detail = f"Group {group} does not exist in the pattern."
            errors.append(FieldError(f"{prefix}.group", "invalid", detail))
    name = rule.get("name")
    if name in seen:
        errors.append(FieldError(f"{prefix}.name", "unique", f"Duplicate rule name: '{name}'."))
    seen.add(name)
    return sorted(errors, key=lambda error: (error.attr or "", error.code))
