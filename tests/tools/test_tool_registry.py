"""The built-in tool registry and tool settings loading and validation."""

import pytest

from unstract.jsonschemas import TOOL_SETTINGS, FieldError
from unstract.tools import ToolOutput
from unstract.tools.registry import TOOLS, load_tool_settings


def test_registry_lists_the_tools_with_their_names_and_schemas():
    assert sorted(TOOLS) == ["field_extractor", "llm_extractor", "text_extractor"]
    assert TOOLS["text_extractor"].name == "Text extractor"
    assert TOOLS["field_extractor"].name == "Field extractor"
    assert TOOLS["field_extractor"].settings_schema == TOOL_SETTINGS["field_extractor"]
    assert TOOLS["text_extractor"].as_dict()["settings_schema"]["title"] == "Text extractor settings"
    assert all(spec.description for spec in TOOLS.values())


def test_registered_run_functions_return_tool_output():
    result = TOOLS["text_extractor"].run(b"hi", "text/plain", None, {})
    assert isinstance(result, ToolOutput)
    assert result.output["text"] == "hi"


def test_text_extractor_settings_get_defaults():
    assert load_tool_settings("text_extractor", {}) == (
        {"normalize_whitespace": False, "max_pages": None, "mode": "auto", "ocr_language": "eng", "dpi": 300,
         "ocr_min_chars": 20},
        [],
    )


def test_text_extractor_max_pages_below_one_is_min_value():
    settings, errors = load_tool_settings("text_extractor", {"max_pages": 0})
    assert settings is None
    assert [(e.attr, e.code) for e in errors] == [("metadata.max_pages", "min_value")]


def test_field_extractor_rules_get_defaults():
    settings, errors = load_tool_settings("field_extractor", {"rules": [{"name": "a", "pattern": "x"}]})
    assert errors == []
    assert settings == {
        "rules": [{"name": "a", "pattern": "x", "group": 0, "type": "string", "required": False}]
    }  # the value-format settings have no default: absent means auto, and the stored settings stay as given


@pytest.mark.parametrize("tool_id", ["field_extractor", "llm_extractor"])
@pytest.mark.parametrize(("key", "value"), [("locale", "xx-XX"), ("decimal_separator", ";"), ("date_order", "DYM")])
def test_value_format_settings_are_choices(tool_id, key, value):
    metadata = {"rules": [{"name": "a", "pattern": "x"}], "adapter_id": "0" * 32,
                "fields": [{"name": "a", "prompt": "A"}]}
    metadata = {k: v for k, v in metadata.items() if k in TOOLS[tool_id].settings_schema["properties"]}
    settings, errors = load_tool_settings(tool_id, {**metadata, key: value})
    assert settings is None
    assert [(e.attr, e.code) for e in errors] == [(f"metadata.{key}", "invalid_choice")]


def test_field_extractor_requires_rules():
    settings, errors = load_tool_settings("field_extractor", {})
    assert settings is None
    assert errors == [FieldError("metadata.rules", "required", "'rules' is a required property")]


def test_field_extractor_extra_rules_run_after_schema_validation():
    settings, errors = load_tool_settings(
        "field_extractor",
        {"rules": [{"name": "a", "pattern": "(x"}, {"name": "a", "pattern": "y", "group": 1}]},
    )
    assert settings is None
    assert [(e.attr, e.code) for e in errors] == [
        ("metadata.rules.0.pattern", "invalid_regex"),
        ("metadata.rules.1.group", "invalid"),
        ("metadata.rules.1.name", "unique"),
    ]


def test_field_extractor_extra_rules_are_skipped_when_the_schema_fails():
    settings, errors = load_tool_settings(
        "field_extractor",
        {"rules": [{"name": "a", "pattern": "(x"}, {"name": "a", "pattern": "y", "group": 100}]},
    )
    assert settings is None
    assert [(e.attr, e.code) for e in errors] == [("metadata.rules.1.group", "max_value")]


def test_integral_float_group_is_stored_as_an_integer():
    settings, errors = load_tool_settings(
        "field_extractor", {"rules": [{"name": "a", "pattern": "(x)", "group": 1.0}]}
    )
    assert errors == []
    assert settings["rules"][0]["group"] == 1
    assert type(settings["rules"][0]["group"]) is int


def test_metadata_that_is_not_an_object_is_invalid():
    assert load_tool_settings("text_extractor", ["x"]) == (
        None,
        [FieldError("metadata", "invalid", "Must be a JSON object.")],
    )


def test_unknown_tool_id_is_an_invalid_choice():
    settings, errors = load_tool_settings("ocr", {})
    assert settings is None
    assert errors == [FieldError("tool_id", "invalid_choice", '"ocr" is not a valid choice.')]
