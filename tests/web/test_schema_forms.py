"""JSON Schema <-> form fields and back (unstract/web/schema_forms.py), on the contract's schemas and a generic one."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from unstract.errors import FieldMessage
from unstract.jsonschemas import (
    ADAPTER_CONFIG,
    CONNECTOR_METADATA,
    DESTINATION_DATABASE,
    DESTINATION_FILESYSTEM,
    PATTERN_HINTS,
    SOURCE_FILESYSTEM,
    TOOL_SETTINGS,
    load_document,
)
from unstract.web.schema_forms import (
    apply_row_action,
    build_fields,
    errors_by_attr,
    friendly,
    read_form,
    unplaced,
)

GENERIC = {
    "type": "object",
    "required": ["host"],
    "properties": {
        "host": {"type": "string", "maxLength": 9},
        "ratio": {"type": "number", "minimum": 0},
        "limit": {"type": ["integer", "null"], "default": None},
        "secret": {"type": "string", "writeOnly": True},
        "extra": {"type": "object"},
        "mode": {"type": "string", "enum": ["a", "b"], "enumNames": ["Alpha", "Beta"]},
    },
}


def by_name(fields):
    return {f.name: f for f in fields}


def test_each_property_shape_gets_its_widget_label_and_limits():
    fields = by_name(build_fields(SOURCE_FILESYSTEM, {"maxFiles": 5}, "configuration"))
    assert {name: f.widget for name, f in fields.items()} == {
        "configuration.folders": "lines", "configuration.processSubDirectories": "checkbox",
        "configuration.fileExtensions": "checkboxes", "configuration.maxFiles": "number",
        "configuration.fileReprocessingHandling": "select", "configuration.reprocessInterval": "number",
        "configuration.intervalUnit": "select", "configuration.fileProcessingOrder": "select"}
    assert fields["configuration.maxFiles"].value == "5" and fields["configuration.maxFiles"].limits == {
        "step": "1", "min": 1, "max": 10000}
    assert fields["configuration.fileReprocessingHandling"].choices == [
        ("skip_duplicates", "Never delete"), ("reprocess_after_interval", "Delete after")]
    assert fields["configuration.processSubDirectories"].value is True  # the schema default
    generic = by_name(build_fields(GENERIC, {}, "doc"))
    assert [generic[n].widget for n in ("doc.host", "doc.secret", "doc.extra", "doc.ratio")] == [
        "text", "password", "json", "number"]
    assert generic["doc.host"].limits == {"maxlength": 9} and generic["doc.host"].required
    assert generic["doc.ratio"].limits["step"] == "any" and generic["doc.mode"].display == "—"


def test_arrays_of_objects_become_rows_with_one_empty_row_when_items_are_required():
    rules, *value_format = build_fields(TOOL_SETTINGS["field_extractor"], {}, "metadata")
    assert [field.name for field in value_format] == [
        "metadata.locale", "metadata.decimal_separator", "metadata.date_order"]
    assert rules.widget == "rows" and rules.columns == ["Name", "Pattern", "Group", "Type", "Required"]
    assert [cell.name for cell in rules.rows[0]] == [f"metadata.rules.0.{k}" for k in
                                                      ("name", "pattern", "group", "type", "required")]
    assert rules.row_label == "rule" and rules.rows[0][2].value == "0"


def test_a_post_reads_back_into_the_document_it_describes():
    form = MultiDict([("configuration.folders", "a\r\n\r\n b \n"), ("configuration.fileExtensions", "Images"),
                      ("configuration.fileExtensions", "PDF documents"), ("configuration.maxFiles", " 7 "),
                      ("configuration.intervalUnit", "months")])
    document, problems = read_form(SOURCE_FILESYSTEM, form, "configuration")
    assert problems == [] and document == {
        "folders": ["a", "b"], "processSubDirectories": False, "fileExtensions": ["Images", "PDF documents"],
        "maxFiles": 7, "intervalUnit": "months"}


def test_unparseable_values_are_kept_as_typed_with_a_problem_at_their_input():
    form = MultiDict([("doc.host", "h"), ("doc.ratio", "lots"), ("doc.limit", "1.5"), ("doc.extra", "{oops"),
                      ("doc.secret", ""), ("doc.mode", "b")])
    document, problems = read_form(GENERIC, form, "doc")
    assert document == {"host": "h", "ratio": "lots", "limit": "1.5", "extra": "{oops", "mode": "b"}
    assert problems == [FieldMessage("invalid", "A valid number is required.", "doc.ratio"),
                        FieldMessage("invalid", "A valid integer is required.", "doc.limit"),
                        FieldMessage("invalid", "Must be valid JSON.", "doc.extra")]
    empty, _ = read_form(GENERIC, MultiDict([("doc.limit", ""), ("doc.extra", '{"a": 1}')]), "doc")
    assert empty == {"limit": None, "extra": {"a": 1}}


def test_rows_are_read_in_index_order_and_blank_rows_are_dropped_unless_kept():
    form = MultiDict([("metadata.rules.1.name", "b"), ("metadata.rules.1.pattern", "B"),
                      ("metadata.rules.0.name", "a"), ("metadata.rules.0.pattern", "A"),
                      ("metadata.rules.0.group", "2"), ("metadata.rules.0.required", "true"),
                      ("metadata.rules.2.name", ""), ("metadata.rules.2.pattern", " ")])
    document, _ = read_form(TOOL_SETTINGS["field_extractor"], form, "metadata")
    assert document == {"rules": [{"name": "a", "pattern": "A", "group": 2, "required": True},
                                  {"name": "b", "pattern": "B", "required": False}]}
    kept, _ = read_form(TOOL_SETTINGS["field_extractor"], form, "metadata", keep_blank_rows=True)
    assert len(kept["rules"]) == 3


def test_row_actions_add_and_remove_rows_in_place():
    document = {"rules": [{"name": "a"}, {"name": "b"}]}
    assert apply_row_action(document, "add:metadata.rules", "metadata")["rules"] == [{"name": "a"}, {"name": "b"}, {}]
    assert apply_row_action(document, "remove:metadata.rules:0", "metadata")["rules"] == [{"name": "b"}, {}]
    assert apply_row_action(document, "remove:metadata.rules:9", "metadata")["rules"] == [{"name": "b"}, {}]
    for index in ("²", "-1", " 0"):  # not ASCII digits (² passes str.isdigit, int() refuses it): nothing removed
        assert apply_row_action(document, f"remove:metadata.rules:{index}", "metadata")["rules"] == [{"name": "b"}, {}]


def test_errors_land_next_to_their_input_and_the_rest_above_the_form():
    messages = [FieldMessage("required", "'pattern' is a required property", "metadata.rules.0.pattern"),
                FieldMessage("invalid", "[] should be non-empty", "metadata.rules"),
                FieldMessage("invalid", "Something else.", None),
                FieldMessage("unknown_field", "Additional properties are not allowed", "metadata.other")]
    fields = build_fields(TOOL_SETTINGS["field_extractor"], {"rules": [{}]}, "metadata", errors_by_attr(messages))
    assert fields[0].errors == ["Add at least one."]
    assert fields[0].rows[0][1].errors == ["This field is required."]
    assert unplaced(messages, fields) == ["Something else.", "Additional properties are not allowed"]


def test_folder_item_errors_show_at_the_textarea_and_messages_read_like_a_form():
    messages = [FieldMessage("invalid", "'../x' does not match '^(?!...)$'", "configuration.folders.0")]
    fields = by_name(build_fields(SOURCE_FILESYSTEM, {}, "configuration", errors_by_attr(messages)))
    assert fields["configuration.folders"].errors == ["'../x' is not in the expected format."]
    assert friendly(FieldMessage("min_length", "'' should be non-empty", "x")) == "This field may not be blank."
    minimum = "0 is less than the minimum of 1"
    assert friendly(FieldMessage("min_value", minimum, "x")) == minimum


def _patterns(schema) -> list[str]:
    if isinstance(schema, dict):
        own = [schema["pattern"]] if isinstance(schema.get("pattern"), str) else []
        return own + [p for value in schema.values() for p in _patterns(value)]
    if isinstance(schema, list):
        return [p for value in schema for p in _patterns(value)]
    return []


def test_every_pattern_a_form_checks_has_words_for_what_to_type():
    # A connector path has its own advice naming the storage roots; ids are chosen, never typed.
    typed_elsewhere = {"^/", "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"}
    schemas = [SOURCE_FILESYSTEM, DESTINATION_DATABASE, DESTINATION_FILESYSTEM, TOOL_SETTINGS, ADAPTER_CONFIG,
               CONNECTOR_METADATA]
    assert set(_patterns(schemas)) - typed_elsewhere == set(PATTERN_HINTS)


@pytest.mark.parametrize(("schema", "document", "value", "hint"), [
    (SOURCE_FILESYSTEM, {"folders": ["a/../../up"]}, "'a/../../up'", "such as invoices or invoices/2026"),
    (DESTINATION_FILESYSTEM, {"outputFolder": ".."}, "'..'", "such as invoices or invoices/2026"),
    (DESTINATION_DATABASE, {"table": "my table"}, "'my table'", "such as public.invoices"),
    (TOOL_SETTINGS["field_extractor"], {"rules": [{"name": "1bad", "pattern": "x"}]}, "'1bad'", "invoice_total"),
    (TOOL_SETTINGS["text_extractor"], {"ocr_language": "eng deu"}, "'eng deu'", "such as eng or eng+deu"),
    (CONNECTOR_METADATA["s3"], {"bucket": "My_Bucket"}, "'My_Bucket'", "such as my-invoices"),
    (CONNECTOR_METADATA["s3"], {"bucket": "b-1", "prefix": "/abs"}, "'/abs'", "such as invoices/2026"),
])
def test_a_value_in_the_wrong_format_is_told_what_to_type(schema, document, value, hint):
    _, problems = load_document(document, schema, "configuration")
    shown = [friendly(FieldMessage(p.code, p.detail, p.attr)) for p in problems if "does not match" in p.detail]
    assert len(shown) == 1 and shown[0].startswith(f"{value} is not in the expected format. ")
    assert hint in shown[0] and shown[0].endswith(".")


def test_the_blank_choice_of_an_optional_select_leaves_the_setting_out():
    form = MultiDict([("metadata.rules.0.name", "total"), ("metadata.rules.0.pattern", "Total (.+)"),
                      ("metadata.locale", ""), ("metadata.date_order", "MDY")])
    document, problems = read_form(TOOL_SETTINGS["field_extractor"], form, "metadata")
    assert problems == []
    assert "locale" not in document and document["date_order"] == "MDY"
