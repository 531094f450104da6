"""llm_extractor's pure parts: reply parsing, coercion by type, required fields, the request schema."""

from __future__ import annotations

import pytest

from unstract.tools import ToolError
from unstract.tools.llm_extractor import coerce, coerce_fields, parse_reply, request_schema
from unstract.tools.values import Unreadable, ValueFormat


@pytest.mark.parametrize(("value", "type_", "expected"), [
    ("1,250.50", "number", 1250.5), ("$1,250.50", "number", 1250.5), (12, "number", 12), ("7", "integer", 7),
    (3.0, "integer", 3), ("yes", "boolean", True), ("No", "boolean", False), (1, "boolean", True),
    ("5 March 2024", "date", "2024-03-05"), ("13/05/2024", "date", "2024-05-13"),
    ("2024-03-05T10:00:00Z", "date", "2024-03-05"), (" a@b.co ", "email", "a@b.co"), (42, "text", "42"),
    ('{"a": 1}', "json", {"a": 1}), ("not json", "json", "not json"), ([1, 2], "json", [1, 2]),
    (None, "number", None),
])
def test_values_are_coerced_to_their_type(value, type_, expected):
    assert coerce(value, type_) == expected


@pytest.mark.parametrize(("value", "type_"), [
    ("twelve", "number"), (True, "number"), (1.5, "integer"), ("maybe", "boolean"), ("31 Foo 2024", "date"),
    ("not-an-email", "email"), ({"a": 1}, "text"), ("x", "line_items"), ("1,250", "number"),
    ("03/05/2024", "date"), ("2.5", "integer"),
])
def test_values_that_cannot_be_coerced_are_invalid(value, type_):
    with pytest.raises(Unreadable):
        coerce(value, type_, [])


def test_text_numbers_and_dates_follow_the_tool_settings_with_the_reason_in_the_warning():
    fields = [{"name": "total", "type": "number"}, {"name": "due", "type": "date"},
              {"name": "rows", "type": "line_items", "columns": [{"name": "price", "type": "number"}]}]
    reply = {"total": "€ 3.553,82", "due": "03/05/2024", "rows": [{"price": "1.234"}, {"price": 7}]}
    warnings: list[str] = []
    assert coerce_fields(fields, reply, warnings) == {"total": 3553.82, "due": None,
                                                      "rows": [{"price": None}, {"price": 7}]}
    assert warnings == [
        "field 'due' value \"03/05/2024\" is not a valid date: ambiguous: day and month could be swapped; "
        "set date_order or locale.",
        "field 'rows': line item 0 column 'price' value '1.234' is not a valid number: ambiguous: '.' may "
        "separate decimals or thousands; set decimal_separator or locale.",
    ]
    german = ValueFormat.from_settings({"locale": "de-DE"})
    assert coerce_fields(fields, reply, [], german) == {"total": 3553.82, "due": "2024-05-03",
                                                        "rows": [{"price": 1234}, {"price": 7}]}


def test_an_invalid_value_is_null_with_a_warning_and_a_required_null_fails():
    warnings: list[str] = []
    fields = [{"name": "total", "type": "number"}, {"name": "id", "type": "text", "required": True}]
    assert coerce_fields(fields, {"total": "lots", "id": "A"}, warnings) == {"total": None, "id": "A"}
    assert warnings == ["field 'total' value \"lots\" is not a valid number."]
    with pytest.raises(ToolError, match="^required field 'id' not found.$"):
        coerce_fields(fields, {"total": 1}, [])


@pytest.mark.parametrize("content", ['{"a": 1}', '```json\n{"a": 1}\n```', '```\n{"a": 1}```'])
def test_replies_may_be_fenced(content):
    assert parse_reply(content) == {"a": 1}


@pytest.mark.parametrize("content", ["", "[1]", "Sure! {", "```json\n[1]\n```"])
def test_replies_that_are_not_an_object_are_refused(content):
    with pytest.raises(ValueError):
        parse_reply(content)


def test_every_field_admits_null_and_is_required():
    schema = request_schema([
        {"name": "n", "type": "integer", "prompt": "N"},
        {"name": "rows", "type": "line_items", "prompt": "Rows", "columns": [{"name": "q", "type": "number"}]}])
    assert schema["required"] == ["n", "rows"] and schema["additionalProperties"] is False
    assert schema["properties"]["n"] == {"type": ["integer", "null"], "description": "N"}
    rows = schema["properties"]["rows"]
    assert rows["type"] == ["array", "null"]
    assert rows["items"] == {"type": "object", "properties": {"q": {"type": ["number", "null"]}},
                             "required": ["q"], "additionalProperties": False}
