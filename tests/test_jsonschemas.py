"""The settings documents: defaults, draft-07 validation, error mapping, lookups and the extension table."""

import pytest

from unstract.jsonschemas import (
    CONNECTOR_METADATA,
    DESTINATION_DATABASE,
    DESTINATION_FILESYSTEM,
    EXTENSION_GROUPS,
    MIME_BY_EXTENSION,
    READABLE_EXTENSIONS,
    SOURCE_API,
    SOURCE_FILESYSTEM,
    TOOL_SETTINGS,
    FieldError,
    extension_allowed,
    extension_readable,
    fill_defaults,
    load_document,
    mime_type_for,
    schema_for_query,
    secret_fields,
    settings_schema_for,
    unreadable_extensions,
    validate_document,
)
from unstract.tools import text_extractor


def codes(errors):
    return [(error.attr, error.code) for error in errors]


def configuration_errors(document, schema=SOURCE_FILESYSTEM):
    return validate_document(document, schema, "configuration")


# --- defaults ---------------------------------------------------------------------------------------------


def test_fill_defaults_fills_every_absent_property_of_the_file_source():
    assert fill_defaults({}, SOURCE_FILESYSTEM) == {
        "folders": [],
        "processSubDirectories": True,
        "fileExtensions": [],
        "maxFiles": 100,
        "fileReprocessingHandling": "skip_duplicates",
        "reprocessInterval": 30,
        "intervalUnit": "days",
        "fileProcessingOrder": "unordered",
    }


def test_fill_defaults_keeps_sent_values_and_does_not_touch_the_input():
    document = {"maxFiles": 5, "processSubDirectories": False}
    filled = fill_defaults(document, SOURCE_FILESYSTEM)
    assert filled["maxFiles"] == 5
    assert filled["processSubDirectories"] is False
    assert document == {"maxFiles": 5, "processSubDirectories": False}


def test_fill_defaults_gives_each_document_its_own_default_list():
    first = fill_defaults({}, SOURCE_FILESYSTEM)
    first["folders"].append("x")
    assert fill_defaults({}, SOURCE_FILESYSTEM)["folders"] == []
    assert SOURCE_FILESYSTEM["properties"]["folders"]["default"] == []


def test_fill_defaults_fills_array_items_that_are_objects():
    filled = fill_defaults(
        {"rules": [{"name": "a", "pattern": "x"}, {"group": 2}]}, TOOL_SETTINGS["field_extractor"]
    )
    assert filled["rules"] == [
        {"name": "a", "pattern": "x", "group": 0, "type": "string", "required": False},
        {"group": 2, "type": "string", "required": False},
    ]


def test_fill_defaults_fills_a_null_default():
    assert fill_defaults({}, TOOL_SETTINGS["text_extractor"]) == {
        "normalize_whitespace": False,
        "max_pages": None,
        "mode": "auto",
        "ocr_language": "eng",
        "dpi": 300,
        "ocr_min_chars": 20,
    }


def test_fill_defaults_leaves_non_objects_unchanged():
    assert fill_defaults(["a"], SOURCE_FILESYSTEM) == ["a"]
    assert fill_defaults({"rules": "nope"}, TOOL_SETTINGS["field_extractor"])["rules"] == "nope"


def test_fill_defaults_with_the_empty_schema_is_a_copy():
    document = {"anything": {"goes": 1}}
    filled = fill_defaults(document, {})
    assert filled == document
    assert filled is not document


# --- error mapping ------------------------------------------------------------------------------------------


def test_required_names_the_missing_property():
    errors = configuration_errors({}, DESTINATION_FILESYSTEM)
    assert errors == [
        FieldError("configuration.outputFolder", "required", "'outputFolder' is a required property")
    ]


def test_each_missing_required_property_is_one_error():
    errors = configuration_errors({"table": "t"}, DESTINATION_DATABASE)
    assert codes(errors) == [
        ("configuration.columnMode", "required"),
        ("configuration.includeAgent", "required"),
        ("configuration.includeTimestamp", "required"),
    ]


def test_type_error_is_invalid_with_the_validator_message():
    errors = configuration_errors({"maxFiles": "ten"})
    assert errors == [FieldError("configuration.maxFiles", "invalid", "'ten' is not of type 'integer'")]


def test_boolean_is_not_an_integer():
    assert codes(configuration_errors({"maxFiles": True})) == [("configuration.maxFiles", "invalid")]


def test_enum_error_is_invalid_choice():
    errors = configuration_errors({"fileProcessingOrder": "random"})
    assert codes(errors) == [("configuration.fileProcessingOrder", "invalid_choice")]
    assert "'random' is not one of" in errors[0].detail


def test_const_error_is_invalid_choice():
    schema = {"type": "object", "properties": {"kind": {"const": "a"}}}
    assert codes(validate_document({"kind": "b"}, schema, "x")) == [("x.kind", "invalid_choice")]


def test_min_and_max_length():
    assert codes(configuration_errors({"outputFolder": ""}, DESTINATION_FILESYSTEM)) == [
        ("configuration.outputFolder", "min_length")
    ]
    assert codes(configuration_errors({"outputFolder": "o" * 101}, DESTINATION_FILESYSTEM)) == [
        ("configuration.outputFolder", "max_length")
    ]


def test_minimum_and_maximum():
    low = configuration_errors({"maxFiles": 0})
    assert low == [FieldError("configuration.maxFiles", "min_value", "0 is less than the minimum of 1")]
    assert codes(configuration_errors({"maxFiles": 10001})) == [("configuration.maxFiles", "max_value")]


def test_each_unknown_key_is_one_unknown_field_error():
    errors = configuration_errors({"zeta": 1, "alpha": 2, "maxFiles": 3})
    assert errors == [
        FieldError(
            "configuration.alpha",
            "unknown_field",
            "Additional properties are not allowed ('alpha' was unexpected)",
        ),
        FieldError(
            "configuration.zeta",
            "unknown_field",
            "Additional properties are not allowed ('zeta' was unexpected)",
        ),
    ]


@pytest.mark.parametrize(
    ("document", "attr"),
    [
        ({"folders": ["a", "a"]}, "configuration.folders"),  # uniqueItems
        ({"folders": [str(i) for i in range(101)]}, "configuration.folders"),  # maxItems
        ({"folders": ["../up"]}, "configuration.folders.0"),  # pattern
        ({"fileExtensions": "Images"}, "configuration.fileExtensions"),  # type
    ],
)
def test_other_keywords_map_to_invalid(document, attr):
    assert codes(configuration_errors(document)) == [(attr, "invalid")]


def test_errors_are_sorted_by_attr_then_code():
    errors = configuration_errors(
        {"maxFiles": 0, "folders": ["../" + "x" * 1000], "bogus": 1, "intervalUnit": "x"}
    )
    assert codes(errors) == [
        ("configuration.bogus", "unknown_field"),
        ("configuration.folders.0", "invalid"),
        ("configuration.folders.0", "max_length"),
        ("configuration.intervalUnit", "invalid_choice"),
        ("configuration.maxFiles", "min_value"),
    ]


def test_nested_rule_errors_use_dotted_paths():
    document = {"rules": [{"name": "ok", "pattern": "", "extra": True}, {"pattern": "x", "type": "money"}]}
    errors = validate_document(document, TOOL_SETTINGS["field_extractor"], "metadata")
    assert codes(errors) == [
        ("metadata.rules.0.extra", "unknown_field"),
        ("metadata.rules.0.pattern", "min_length"),
        ("metadata.rules.1.name", "required"),
        ("metadata.rules.1.type", "invalid_choice"),
    ]


def test_empty_rules_list_is_invalid():
    errors = validate_document({"rules": []}, TOOL_SETTINGS["field_extractor"], "metadata")
    assert codes(errors) == [("metadata.rules", "invalid")]


def test_reprocess_interval_is_required_when_reprocessing_after_an_interval():
    errors = configuration_errors({"fileReprocessingHandling": "reprocess_after_interval"})
    assert codes(errors) == [
        ("configuration.intervalUnit", "required"),
        ("configuration.reprocessInterval", "required"),
    ]
    assert (
        configuration_errors(
            fill_defaults({"fileReprocessingHandling": "reprocess_after_interval"}, SOURCE_FILESYSTEM)
        )
        == []
    )


@pytest.mark.parametrize("document", [[], "text", None, 3])
def test_a_document_that_is_not_an_object_is_invalid(document):
    assert validate_document(document, SOURCE_API, "configuration") == [
        FieldError("configuration", "invalid", "Must be a JSON object.")
    ]


def test_the_empty_schema_accepts_any_object_only():
    assert validate_document({"whatever": [1, 2]}, {}, "configuration") == []
    assert codes(validate_document("x", {}, "configuration")) == [("configuration", "invalid")]


# --- folder pattern -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "folder", ["", "/", "a", "a/b", "/a/b/", "..a", "a..", "a/..b", "b../c", "...", "a/.../b"]
)
def test_folder_names_without_a_parent_segment_are_valid(folder):
    assert configuration_errors({"folders": [folder]}) == []


@pytest.mark.parametrize("folder", ["..", "../a", "a/..", "a/../b", "/..", "/../x", "a/b/../../c"])
def test_folder_names_with_a_parent_segment_are_invalid(folder):
    assert codes(configuration_errors({"folders": [folder]})) == [("configuration.folders.0", "invalid")]


def test_output_folder_rejects_a_parent_segment():
    assert codes(configuration_errors({"outputFolder": "out/../.."}, DESTINATION_FILESYSTEM)) == [
        ("configuration.outputFolder", "invalid")
    ]


# --- load_document ------------------------------------------------------------------------------------------


def test_load_document_returns_the_filled_document_when_valid():
    document, errors = load_document({"table": "invoices"}, DESTINATION_DATABASE, "configuration")
    assert errors == []
    assert document == {
        "table": "invoices",
        "includeAgent": False,
        "agentName": "Unstract/DBWriter",
        "includeTimestamp": False,
        "filePath": "file_path",
        "executionId": "execution_id",
        "columnMode": "Write JSON to a single column",
        "singleColumnName": "data",
    }


def test_load_document_returns_errors_and_no_document_when_invalid():
    document, errors = load_document({}, DESTINATION_DATABASE, "configuration")
    assert document is None
    assert codes(errors) == [("configuration.table", "invalid")]


def test_load_document_stores_integral_floats_of_integer_fields_as_integers():
    document, errors = load_document({"maxFiles": 7.0}, SOURCE_FILESYSTEM, "configuration")
    assert errors == []
    assert document["maxFiles"] == 7
    assert type(document["maxFiles"]) is int


def test_load_document_rejects_fractional_integers():
    document, errors = load_document({"maxFiles": 7.5}, SOURCE_FILESYSTEM, "configuration")
    assert document is None
    assert codes(errors) == [("configuration.maxFiles", "invalid")]


def test_connector_metadata_defaults_and_prefix():
    document, errors = load_document(
        {"host": "db", "database": "d", "user": "u"}, CONNECTOR_METADATA["postgresql"], "connector_metadata"
    )
    assert errors == []
    assert document == {
        "host": "db",
        "database": "d",
        "user": "u",
        "port": 5432,
        "password": "",
        "schema": "public",
    }
    _, errors = load_document(
        {"bucket": "Bad_Bucket", "port": 1}, CONNECTOR_METADATA["s3"], "connector_metadata"
    )
    assert codes(errors) == [
        ("connector_metadata.bucket", "invalid"),
        ("connector_metadata.port", "unknown_field"),
    ]


# --- lookups ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint_type", "connection_type", "expected"),
    [
        ("SOURCE", "FILESYSTEM", SOURCE_FILESYSTEM),
        ("SOURCE", "API", SOURCE_API),
        ("DESTINATION", "DATABASE", DESTINATION_DATABASE),
        ("DESTINATION", "FILESYSTEM", DESTINATION_FILESYSTEM),
        ("DESTINATION", "API", {}),
    ],
)
def test_settings_schema_for_each_endpoint_pair(endpoint_type, connection_type, expected):
    assert settings_schema_for(endpoint_type, connection_type) == expected


@pytest.mark.parametrize(
    ("endpoint_type", "connection_type"), [("SOURCE", "DATABASE"), ("SOURCE", ""), ("X", "API")]
)
def test_settings_schema_for_other_pairs_is_none(endpoint_type, connection_type):
    assert settings_schema_for(endpoint_type, connection_type) is None


@pytest.mark.parametrize(
    ("type_", "entity", "title"),
    [
        ("src", "file", "File Source Settings"),
        ("src", "api", "API Source Settings"),
        ("dest", "file", "File Destination Settings"),
        ("dest", "db", "DB Destination Settings"),
    ],
)
def test_schema_for_query_serves_each_document(type_, entity, title):
    schema = schema_for_query(type_, entity)
    assert schema["title"] == title
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_schema_for_query_dest_api_is_empty_and_copies_are_independent():
    assert schema_for_query("dest", "api") == {}
    schema_for_query("src", "file")["title"] = "changed"
    assert SOURCE_FILESYSTEM["title"] == "File Source Settings"


def test_schema_for_query_rejects_other_pairs():
    with pytest.raises(KeyError):
        schema_for_query("src", "db")


def test_secret_fields_are_the_write_only_properties():
    assert secret_fields("s3") == ["secret"]
    assert secret_fields("postgresql") == ["password"]
    assert secret_fields("local_storage") == []
    assert secret_fields("unknown") == []


# --- extension table ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "mime_type"),
    [
        ("a.txt", "text/plain"),
        ("notes.MD", "text/markdown"),
        ("page.htm", "text/html"),
        ("dir/scan.Pdf", "application/pdf"),
        ("photo.jpeg", "image/jpeg"),
        ("book.xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12"),
        ("v1.2.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("slides.odp", "application/vnd.oasis.opendocument.presentation"),
    ],
)
def test_mime_type_by_extension(file_name, mime_type):
    assert mime_type_for(file_name) == mime_type


@pytest.mark.parametrize(
    "file_name", ["README", "archive.tar.gz", "run.exe", "trailing.", "dir.pdf/file", ""]
)
def test_unsupported_or_missing_extension_has_no_mime_type(file_name):
    assert mime_type_for(file_name) is None


def test_extension_allowed_by_groups():
    assert extension_allowed("a.md", [])
    assert not extension_allowed("a.md", ["Text documents"])
    assert extension_allowed("a.DOCX", ["Text documents"])
    assert extension_allowed("book.xlsx", []) and not extension_allowed("book.xlsx", ["Text documents"])
    assert not extension_allowed("a.doc", []) and not extension_allowed("a.doc", ["Text documents"])
    assert extension_allowed("a.tif", ["PDF documents", "Images"])
    assert not extension_allowed("a.pdf", ["Images"])
    assert not extension_allowed("a.exe", [])


def test_the_readable_extensions_are_exactly_the_types_the_text_extractor_reads():
    assert {MIME_BY_EXTENSION[extension].lower() for extension in READABLE_EXTENSIONS} == text_extractor.SUPPORTED_TYPES
    assert all(group - {"doc"} <= READABLE_EXTENSIONS for group in EXTENSION_GROUPS.values())


def test_known_types_the_tools_cannot_read_are_named():
    names = ["a.doc", "b.PPTX", "c.pdf", "d.exe", "e.doc"]
    assert unreadable_extensions(names) == [".doc", ".pptx"]
    assert not any(extension_readable(name) for name in ["a.doc", "a.xls", "a.odt", "a.ppt", "a.exe"])
