"""JSON Schema documents of the settings (docs/API.md, Settings documents) and helpers to fill, validate, map them."""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from unstract.connectors import registry
from unstract.errors import FieldMessage
from unstract.tools.values import AUTO, DATE_ORDERS, DECIMAL_SEPARATORS, LOCALES

_DRAFT7 = "http://json-schema.org/draft-07/schema#"
_NO_DOTDOT = "^(?!(?:.*/)?\\.\\.(?:/|$)).*$"
_IDENTIFIER = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"
_KEY_NAME = "^[A-Za-z_][A-Za-z0-9_]{0,63}$"
_TABLE = "^[A-Za-z_][A-Za-z0-9_]{0,62}(\\.[A-Za-z_][A-Za-z0-9_]{0,62})?$"
_OCR_LANGUAGES = "^~?[A-Za-z0-9_]+(\\+~?[A-Za-z0-9_]+)*$"
_HTTP_URL = "^https?://[^\\s]+$"

# What to type when a value does not match a pattern of these schemas (forms show it with the refusal).
PATTERN_HINTS: dict[str, str] = {
    _NO_DOTDOT: "Type a folder inside the connector's root, such as invoices or invoices/2026, without “..”.",
    _IDENTIFIER: "Use letters, digits and _, starting with a letter or _, such as file_path.",
    _KEY_NAME: "Use letters, digits and _, starting with a letter or _, such as invoice_total.",
    _TABLE: "Type a table name such as invoices, or schema and table such as public.invoices "
            "(letters, digits and _).",
    _OCR_LANGUAGES: "Type Tesseract language codes joined by +, such as eng or eng+deu.",
    _HTTP_URL: "Type an address starting with http:// or https://, such as https://api.openai.com/v1.",
}

# The extensions whose files the tools read (the text extractor's types); the others of the table are
# known, and refused up front: at upload, and skipped with a WARN when a folder is listed.
READABLE_EXTENSIONS: frozenset[str] = frozenset({
    "txt", "md", "csv", "json", "html", "htm", "pdf", "png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp",
    "docx", "xlsx", "xlsm"})
CONVERT_HINT = "save them as PDF, DOCX or XLSX to process them"

# fileExtensions groups: group name -> extensions, as the contract names them (.doc stays in its group
# and is refused up front like every unreadable type; workbooks are read when no group is chosen)
EXTENSION_GROUPS: dict[str, frozenset[str]] = {
    "PDF documents": frozenset({"pdf"}),
    "Text documents": frozenset({"txt", "doc", "docx"}),
    "Images": frozenset({"jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp"}),
}

_GROUPS_DESCRIPTION = "Empty means every supported type."  # the contract's words; docs/EXECUTION.md lists the types

# fmt: off
# Source, FILESYSTEM (type=src&entity=file)
SOURCE_FILESYSTEM: dict[str, Any] = {
    "$schema": _DRAFT7,
    "title": "File Source Settings",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "folders": {"title": "Folders to process",
                    "description": "Relative to the connector root; empty means the root.",
                    "type": "array", "uniqueItems": True, "maxItems": 100, "default": [],
                    "items": {"type": "string", "maxLength": 1000, "pattern": _NO_DOTDOT}},
        "processSubDirectories": {"title": "Process sub directories", "type": "boolean", "default": True},
        "fileExtensions": {"title": "File types to process",
                           "description": _GROUPS_DESCRIPTION,
                           "type": "array", "uniqueItems": True, "default": [],
                           "items": {"type": "string", "enum": list(EXTENSION_GROUPS)}},
        "maxFiles": {"title": "Max files to process", "type": "integer", "minimum": 1, "maximum": 10000,
                     "default": 100},
        "fileReprocessingHandling": {"title": "File history retention", "type": "string",
                                     "enum": ["skip_duplicates", "reprocess_after_interval"],
                                     "enumNames": ["Never delete", "Delete after"],
                                     "default": "skip_duplicates"},
        "reprocessInterval": {"title": "Interval", "type": "integer", "minimum": 1, "maximum": 3650,
                              "default": 30},
        "intervalUnit": {"title": "Interval unit", "type": "string", "enum": ["days", "months"],
                         "default": "days"},
        "fileProcessingOrder": {"title": "File processing order", "type": "string",
                                "enum": ["unordered", "oldest_first", "newest_first"],
                                "enumNames": ["Unordered", "Oldest first (FIFO)", "Newest first (LIFO)"],
                                "default": "unordered"},
    },
    "if": {"required": ["fileReprocessingHandling"],
           "properties": {"fileReprocessingHandling": {"const": "reprocess_after_interval"}}},
    "then": {"required": ["reprocessInterval", "intervalUnit"]},
}

# Source, API (type=src&entity=api)
SOURCE_API: dict[str, Any] = {
    "$schema": _DRAFT7,
    "title": "API Source Settings",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "fileExtensions": {"title": "File types to accept",
                           "description": _GROUPS_DESCRIPTION,
                           "type": "array", "uniqueItems": True, "default": [],
                           "items": {"type": "string", "enum": list(EXTENSION_GROUPS)}},
    },
}

# Destination, DATABASE (type=dest&entity=db)
DESTINATION_DATABASE: dict[str, Any] = {
    "$schema": _DRAFT7,
    "title": "DB Destination Settings",
    "type": "object",
    "additionalProperties": False,
    "required": ["table", "includeAgent", "includeTimestamp", "columnMode"],
    "properties": {
        "table": {"title": "Table", "description": "name or schema.name", "type": "string", "default": "",
                  "pattern": _TABLE},
        "includeAgent": {"title": "Include a created_by column", "type": "boolean", "default": False},
        "agentName": {"title": "Agent name", "type": "string", "enum": ["Unstract/DBWriter"],
                      "default": "Unstract/DBWriter"},
        "includeTimestamp": {"title": "Include a created_at column", "type": "boolean", "default": False},
        "filePath": {"title": "File path column", "type": "string", "default": "file_path",
                     "pattern": _IDENTIFIER},
        "executionId": {"title": "Execution id column", "type": "string", "default": "execution_id",
                        "pattern": _IDENTIFIER},
        "columnMode": {"title": "Column mode", "type": "string", "enum": ["Write JSON to a single column"],
                       "default": "Write JSON to a single column"},
        "singleColumnName": {"title": "JSON column", "type": "string", "default": "data",
                             "pattern": _IDENTIFIER},
    },
}

# Destination, FILESYSTEM (type=dest&entity=file)
DESTINATION_FILESYSTEM: dict[str, Any] = {
    "$schema": _DRAFT7,
    "title": "File Destination Settings",
    "type": "object",
    "additionalProperties": False,
    "required": ["outputFolder"],
    "properties": {
        "outputFolder": {"title": "Output folder", "description": "Relative to the connector root.",
                         "type": "string",
                         "minLength": 1, "maxLength": 100, "default": "output", "pattern": _NO_DOTDOT},
    },
}

# Tool settings: tool_id -> settings_schema
_FIELD_RULE: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["name", "pattern"],
    "properties": {
        "name": {"description": "Output key.", "type": "string", "pattern": _KEY_NAME},
        "pattern": {"description": "Python regular expression, searched with re.MULTILINE.",
                    "type": "string", "minLength": 1, "maxLength": 1000},
        "group": {"description": "Capture group whose text is the value; 0 = whole match.",
                  "type": "integer", "minimum": 0, "maximum": 99, "default": 0},
        "type": {"type": "string", "enum": ["string", "number", "date"], "default": "string"},
        "required": {"description": "Fail the file when the value is missing or invalid.",
                     "type": "boolean", "default": False}}}

# How numbers and dates found in documents are read (unstract.tools.values), for every converting tool
_VALUE_FORMAT: dict[str, Any] = {
    "locale": {"title": "Documents' locale",
               "description": "The region whose conventions the documents follow: its decimal separator and "
                              "date order are used unless set below. auto: decide from each value alone, "
                              "and leave a value empty (with a warning) when it could be read two ways.",
               "type": "string", "enum": [AUTO, *LOCALES], "enumNames": ["Auto", *LOCALES]},
    "decimal_separator": {"title": "Decimal separator",
                          "description": "The character before the decimals of numbers. auto: the locale's, "
                                         "else what the value itself shows (1.234,56 and 1,234.56 are clear; "
                                         "1,234 or 1.234 are not and stay empty, with a warning).",
                          "type": "string", "enum": list(DECIMAL_SEPARATORS),
                          "enumNames": ["Auto", "Point (1,234.56)", "Comma (1.234,56)"]},
    "date_order": {"title": "Date order",
                   "description": "How numeric dates such as 03/12/2026 are written: day-month-year, "
                                  "month-day-year or year-month-day. auto: the locale's; without a locale a "
                                  "date whose day and month could be swapped stays empty, with a warning.",
                   "type": "string", "enum": list(DATE_ORDERS),
                   "enumNames": ["Auto", "Day/Month/Year", "Month/Day/Year", "Year/Month/Day"]},
}

_UUID = "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
_LLM_SCALAR_TYPES = ["text", "number", "integer", "boolean", "date", "email", "json"]
LLM_DEFAULT_INSTRUCTIONS = (
    "You extract data from documents. Answer with one JSON object holding exactly the requested fields. "
    "Take values from the document only; use null for a value the document does not contain. "
    "Dates as YYYY-MM-DD, numbers without currency symbols or thousands separators."
)
_LLM_FIELD = {
    "type": "object", "additionalProperties": False, "required": ["name", "prompt"],
    "properties": {
        "name": {"type": "string", "pattern": _KEY_NAME},
        "prompt": {"type": "string", "minLength": 1, "maxLength": 4000},
        "type": {"type": "string", "enum": [*_LLM_SCALAR_TYPES, "line_items"], "default": "text"},
        "required": {"type": "boolean", "default": False},
        "columns": {"description": "line_items only: the keys of each item.",
                    "type": "array", "minItems": 1, "maxItems": 50, "items": {
                        "type": "object", "additionalProperties": False, "required": ["name"],
                        "properties": {"name": {"type": "string", "pattern": _KEY_NAME},
                                       "type": {"type": "string", "enum": _LLM_SCALAR_TYPES,
                                                "default": "text"}}}}}}

TOOL_SETTINGS: dict[str, dict[str, Any]] = {
    "text_extractor": {
        "$schema": _DRAFT7, "title": "Text extractor settings", "type": "object",
        "additionalProperties": False,
        "properties": {
            "normalize_whitespace": {"description": "Collapse each whitespace run into one space and trim.",
                                     "type": "boolean", "default": False},
            "max_pages": {"description": "PDFs and multi-page images: read at most this many pages; "
                                         "leave it empty to read every page.",
                          "type": ["integer", "null"], "minimum": 1, "default": None},
            "mode": {"description": "native: the PDF's text layer only; ocr: every page recognised by OCR; auto: "
                                    "the text layer, and OCR for each page whose text layer has fewer than "
                                    "ocr_min_chars non-space characters (scanned pages). Images are always OCRed, "
                                    "except in native mode.",
                     "type": "string", "enum": ["native", "ocr", "auto"],
                     "enumNames": ["Text layer only", "OCR every page", "Auto: OCR pages without text"],
                     "default": "auto"},
            "ocr_language": {"title": "OCR language",
                             "description": "Tesseract language model(s), e.g. eng or eng+deu; each needs its "
                                            "traineddata installed.",
                             "type": "string", "maxLength": 100,
                             "pattern": _OCR_LANGUAGES, "default": "eng"},
            "dpi": {"title": "OCR resolution (dpi)",
                    "description": "PDF pages are rendered at this resolution for OCR; images that record no "
                                   "resolution are taken to have it.",
                    "type": "integer", "minimum": 72, "maximum": 600, "default": 300},
            "ocr_min_chars": {"title": "OCR below characters",
                              "description": "auto mode: a page whose text layer has fewer non-space characters "
                                             "than this is OCRed.",
                              "type": "integer", "minimum": 0, "maximum": 100000, "default": 20}}},
    "field_extractor": {
        "$schema": _DRAFT7, "title": "Field extractor settings", "type": "object",
        "additionalProperties": False, "required": ["rules"],
        "properties": {
            "rules": {"type": "array", "minItems": 1, "maxItems": 100, "items": _FIELD_RULE},
            **_VALUE_FORMAT}},
    "llm_extractor": {
        "$schema": _DRAFT7, "title": "LLM extractor settings", "type": "object",
        "additionalProperties": False, "required": ["adapter_id", "fields"],
        "properties": {
            "adapter_id": {"description": "An adapter of the organization.", "type": "string",
                           "pattern": _UUID},
            "fields": {"type": "array", "minItems": 1, "maxItems": 100, "items": _LLM_FIELD},
            "mode": {"type": "string", "enum": ["single_pass", "per_field"], "default": "single_pass"},
            "instructions": {"description": "The system prompt preamble.", "type": "string", "maxLength": 8000,
                             "default": LLM_DEFAULT_INSTRUCTIONS},
            "max_input_chars": {"description": "Longer text is cut (with a WARN).", "type": "integer",
                                "minimum": 1, "maximum": 10000000, "default": 200000},
            **_VALUE_FORMAT}},
}
# fmt: on

# Adapters (docs/API.md, Adapters): the configuration of an LLM connection; api_key is write-only
ADAPTER_CONFIG: dict[str, Any] = {
    "$schema": _DRAFT7, "title": "LLM adapter configuration", "type": "object",
    "additionalProperties": False, "required": ["api_key", "model"],
    "properties": {
        "base_url": {"description": "The /v1 root of an OpenAI-compatible service.", "type": "string",
                     "pattern": _HTTP_URL, "maxLength": 2000, "default": "https://api.openai.com/v1"},
        "api_key": {"type": "string", "minLength": 1, "maxLength": 4096, "writeOnly": True},
        "model": {"type": "string", "minLength": 1, "maxLength": 256},
        "timeout_seconds": {"type": "number", "minimum": 1, "maximum": 600, "default": 60},
        "max_retries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 3},
        "max_concurrency": {"type": "integer", "minimum": 1, "maximum": 256, "default": 8},
        "input_cost_per_million": {"type": ["number", "null"], "minimum": 0, "default": None},
        "output_cost_per_million": {"type": ["number", "null"], "minimum": 0, "default": None},
        "supports_json_schema": {"type": "boolean", "default": True}}}

# Connector metadata: connector_id -> metadata_schema, each declared by its connector type module
CONNECTOR_METADATA: dict[str, dict[str, Any]] = {
    connector_id: connector.metadata_schema for connector_id, connector in registry.TYPES.items()
}
PATTERN_HINTS.update({pattern: hint for connector in registry.TYPES.values()
                      for pattern, hint in connector.pattern_hints.items()})

# Workflow endpoints: (endpoint_type, connection_type) -> configuration schema
ENDPOINT_SETTINGS: dict[tuple[str, str], dict[str, Any]] = {
    ("SOURCE", "FILESYSTEM"): SOURCE_FILESYSTEM,
    ("SOURCE", "API"): SOURCE_API,
    ("DESTINATION", "DATABASE"): DESTINATION_DATABASE,
    ("DESTINATION", "FILESYSTEM"): DESTINATION_FILESYSTEM,
    ("DESTINATION", "API"): {},
}

# GET workflow/schema/: (type, entity) query pair -> schema
SCHEMA_QUERY_PAIRS: dict[tuple[str, str], dict[str, Any]] = {
    ("src", "file"): SOURCE_FILESYSTEM,
    ("src", "api"): SOURCE_API,
    ("dest", "file"): DESTINATION_FILESYSTEM,
    ("dest", "db"): DESTINATION_DATABASE,
    ("dest", "api"): {},
}

# The extension table of uploads and listings: extension -> MIME type
MIME_BY_EXTENSION: dict[str, str] = {
    "txt": "text/plain",
    "md": "text/markdown",
    "csv": "text/csv",
    "json": "application/json",
    "html": "text/html",
    "htm": "text/html",
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "webp": "image/webp",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
}

# the validator's own wording for a single unexpected key
_UNKNOWN_KEY_MESSAGE = "Additional properties are not allowed ({key!r} was unexpected)"

_CODE_BY_KEYWORD = {
    "required": "required",
    "type": "invalid",
    "enum": "invalid_choice",
    "const": "invalid_choice",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minimum": "min_value",
    "maximum": "max_value",
    "additionalProperties": "unknown_field",
}


def FieldError(attr: str | None, code: str, detail: str) -> FieldMessage:
    """The envelope's one message type, built in the order the document mappers know (attr null = whole body)."""
    return FieldMessage(code, detail, attr)


def fill_defaults(document: Any, schema: dict[str, Any]) -> Any:
    """Return a deep copy of document with every absent defaulted property filled in, recursively."""
    result = copy.deepcopy(document)
    _fill_in_place(result, schema)
    return result


def _fill_in_place(value: Any, schema: Any) -> None:
    """Fill defaults into value (a dict or list) following schema's properties and items."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        for name, subschema in schema.get("properties", {}).items():
            if not isinstance(subschema, dict):
                continue
            if name not in value and "default" in subschema:
                value[name] = copy.deepcopy(subschema["default"])
            if name in value:
                _fill_in_place(value[name], subschema)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _fill_in_place(item, schema["items"])


def validate_document(document: Any, schema: dict[str, Any], attr_prefix: str) -> list[FieldMessage]:
    """Validate document against a draft-07 schema and map the errors (docs/API.md, Settings documents)."""
    if not isinstance(document, dict):
        return [FieldError(attr_prefix, "invalid", "Must be a JSON object.")]
    errors: list[FieldMessage] = []
    for error in Draft7Validator(schema).iter_errors(document):
        errors.extend(_map_error(error, attr_prefix))
    return sorted(errors, key=lambda e: (e.attr or "", e.code))


def _map_error(error: ValidationError, attr_prefix: str) -> list[FieldMessage]:
    """Turn one validator error into one or more field errors."""
    keyword = str(error.validator)
    base = _join_attr(attr_prefix, list(error.absolute_path))
    code = _CODE_BY_KEYWORD.get(keyword, "invalid")
    if keyword == "required":
        return [FieldError(_join_attr(base, [name]), code, error.message) for name in _missing_names(error)]
    if keyword == "additionalProperties" and error.validator_value is False:
        return [
            FieldError(_join_attr(base, [key]), code, _UNKNOWN_KEY_MESSAGE.format(key=key))
            for key in _unknown_keys(error)
        ]
    return [FieldError(base, code, error.message)]


def _join_attr(prefix: str, path: list[Any]) -> str:
    """Join an attr prefix and a path inside the document with dots."""
    parts = [str(part) for part in path]
    return ".".join([prefix, *parts] if prefix else parts)


def _missing_names(error: ValidationError) -> list[str]:
    """Name the property a `required` error is about (the validator reports it only in its message)."""
    instance = error.instance if isinstance(error.instance, dict) else {}
    names = [name for name in error.validator_value if name not in instance]
    matching = [name for name in names if error.message == f"{name!r} is a required property"]
    return matching or names[:1]


def _unknown_keys(error: ValidationError) -> list[str]:
    """List the keys an `additionalProperties: false` error rejects."""
    instance = error.instance if isinstance(error.instance, dict) else {}
    known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    return sorted(str(key) for key in instance if key not in known)


def load_document(
    document: Any, schema: dict[str, Any], attr_prefix: str
) -> tuple[dict[str, Any] | None, list[FieldMessage]]:
    """Fill defaults, then validate; return the filled document when it is valid."""
    filled = fill_defaults(document, schema)
    errors = validate_document(filled, schema, attr_prefix)
    if errors:
        return None, errors
    return _integral_floats_to_int(filled, schema), []


def _integral_floats_to_int(value: Any, schema: Any) -> Any:
    """Store 5.0 given for an integer property as 5 (draft-07 counts 5.0 as an integer)."""
    if not isinstance(schema, dict):
        return value
    types = schema.get("type")
    if isinstance(value, float) and (
        types == "integer" or (isinstance(types, list) and "integer" in types and "number" not in types)
    ):
        return int(value)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        return {key: _integral_floats_to_int(item, props.get(key)) for key, item in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_integral_floats_to_int(item, schema["items"]) for item in value]
    return value


def settings_schema_for(endpoint_type: str, connection_type: str) -> dict[str, Any] | None:
    """Schema of a workflow endpoint configuration; None when the pair takes no configuration."""
    return ENDPOINT_SETTINGS.get((endpoint_type, connection_type))


def schema_for_query(type_: str, entity: str) -> dict[str, Any]:
    """Copy of the document served by GET workflow/schema/; KeyError for a pair not allowed."""
    return copy.deepcopy(SCHEMA_QUERY_PAIRS[(type_, entity)])


def secret_fields(connector_id: str) -> list[str]:
    """Names of the writeOnly (secret) properties of a connector type; [] for an unknown type."""
    connector = registry.find(connector_id)
    return connector.secret_fields if connector is not None else []


def file_extension(file_name: str) -> str | None:
    """Lower-cased text after the last '.' of the base name; None when there is none."""
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base:
        return None
    return base.rsplit(".", 1)[1].lower() or None


def mime_type_for(file_name: str) -> str | None:
    """MIME type of a file by its extension (docs/EXECUTION.md, Listing); None means unsupported."""
    extension = file_extension(file_name)
    return MIME_BY_EXTENSION.get(extension) if extension else None


def extension_readable(file_name: str) -> bool:
    """True when the tools read files of this extension."""
    return file_extension(file_name) in READABLE_EXTENSIONS


def unreadable_extensions(file_names: list[str]) -> list[str]:
    """The known but unreadable extensions among the names (`.doc`, `.pptx`), sorted, each once."""
    return sorted({f".{file_extension(name)}" for name in file_names
                   if mime_type_for(name) is not None and not extension_readable(name)})


def extension_allowed(file_name: str, groups: list[str]) -> bool:
    """True when the extension is readable and, if groups are given, in one of them."""
    if not extension_readable(file_name):
        return False
    if not groups:
        return True
    extension = file_extension(file_name)
    return any(extension in EXTENSION_GROUPS.get(group, frozenset()) for group in groups)
