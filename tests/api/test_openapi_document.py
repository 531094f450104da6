"""The OpenAPI document states the contract's rules (docs/API.md, OpenAPI document): enums, non-blank texts,
comma-separated lists, required bodies and one shape per connector type and per tool, generated from the
registries. tests/security/test_openapi_fuzz.py checks that requests it calls valid are accepted."""

from __future__ import annotations

import re

import pytest

from unstract.api.openapi import connector_metadata_name, openapi_schema, tool_settings_name
from unstract.connectors import registry
from unstract.models import STATUS_VALUES
from unstract.services import accounts, connectors, execution_queries, file_history, workflows
from unstract.tools.registry import TOOLS

BASE = "/api/v1/unstract/{org_id}/"
UUID = "0b5d6a8e-4c1f-4f3e-9a51-7d0c2b9e8f10"


@pytest.fixture(scope="module")
def document(app):
    return app.test_client().get("/api/v1/openapi.json").json


def operation(document, path: str, method: str) -> dict:
    return document["paths"][BASE + path][method]


def parameter(document, path: str, name: str) -> dict:
    return next(p for p in operation(document, path, "get")["parameters"] if p["name"] == name)


def component(document, name: str) -> dict:
    return document["components"]["schemas"][name]


def resolve(document, schema: dict) -> dict:
    while "$ref" in schema:
        schema = component(document, schema["$ref"].rsplit("/", 1)[-1])
    return schema


def body_schema(document, path: str, method: str, media: str = "application/json") -> dict:
    return resolve(document, operation(document, path, method)["requestBody"]["content"][media]["schema"])


def signed(names) -> list[str]:
    return [term for name in names for term in (name, f"-{name}")]


@pytest.mark.parametrize(("path", "fields"), [
    ("workflow/", workflows.ORDERING),
    ("connector/", connectors.ORDERING),
    ("member/", accounts.MEMBER_ORDERING),
    ("workflow/{workflow_id}/execution/", execution_queries.EXECUTION_ORDERING),
    ("workflow/execution/{execution_id}/files/", execution_queries.FILE_EXECUTION_ORDERING),
    ("workflow/{workflow_id}/file-histories/", file_history.HISTORY_ORDERING),
])
def test_ordering_is_a_comma_separated_list_of_the_ordering_fields(document, path, fields):
    ordering = parameter(document, path, "ordering")
    assert (ordering["style"], ordering["explode"]) == ("form", False)
    assert ordering["schema"]["type"] == "array"
    assert ordering["schema"]["items"]["enum"] == signed(fields)


@pytest.mark.parametrize("path", ["workflow/{workflow_id}/execution/", "workflow/execution/{execution_id}/files/",
                                  "workflow/{workflow_id}/file-histories/"])
def test_status_filters_are_comma_separated_lists_of_statuses(document, path):
    status = parameter(document, path, "status")
    assert (status["style"], status["explode"]) == ("form", False)
    assert status["schema"]["items"] == {"type": "string", "enum": list(STATUS_VALUES)}


def test_the_clear_body_takes_statuses_as_a_list_or_a_comma_separated_string(document):
    status = ruled_body(document, "workflow/{workflow_id}/file-histories/clear/")[0]["properties"]["status"]
    as_list, as_text = status["anyOf"]
    assert as_list["items"]["enum"] == list(STATUS_VALUES)
    pattern = re.compile(as_text["pattern"])
    assert pattern.search("COMPLETED,ERROR") and not pattern.search("COMPLETED,done")


def test_connection_type_is_an_enum(document):
    body = body_schema(document, "workflow/endpoint/{endpoint_id}/", "patch")
    assert body["properties"]["connection_type"]["enum"] == ["", "API", "DATABASE", "FILESYSTEM"]


def test_the_log_scope_is_a_uuid_or_null(document):
    pattern = re.compile(parameter(document, "workflow/execution/{execution_id}/logs/", "file_execution_id")
                         ["schema"]["pattern"])
    assert pattern.search("null") and pattern.search(UUID) and not pattern.search("user_1")


@pytest.mark.parametrize(("name", "field"), [
    ("WorkflowCreate", "workflow_name"), ("WorkflowWrite", "workflow_name"), ("WorkflowWritePatch", "workflow_name"),
    ("ConnectorCreate", "connector_name"), ("ConnectorUpdate", "connector_name"),
])
def test_trimmed_names_must_hold_a_non_space_character(document, name, field):
    prop = component(document, name)["properties"][field]
    assert prop["minLength"] == 1
    assert re.search(prop["pattern"], " a ") and not re.search(prop["pattern"], " \t ")


def test_bodies_with_required_fields_are_required_and_patch_bodies_may_be_left_out(document):
    required = [("workflow/", "post"), ("workflow/{workflow_id}/", "put"), ("workflow/{workflow_id}/owners/", "post"),
                ("workflow/execute/", "post"), ("connector/", "post"), ("tool_instance/", "post"),
                ("workflow/{workflow_id}/file-histories/clear/", "post")]
    optional = [("workflow/{workflow_id}/", "patch"), ("connector/{connector_id}/", "patch"),
                ("tool_instance/{instance_id}/", "patch"), ("workflow/endpoint/{endpoint_id}/", "patch")]
    flags = {op: operation(document, *op)["requestBody"]["required"] for op in required + optional}
    assert flags == {**{op: True for op in required}, **{op: False for op in optional}}


def ruled_body(document, path: str, media: str = "application/json") -> tuple[dict, dict]:
    """(the fields, the rule across them) of a `<Name>Body` component."""
    fields, rule = body_schema(document, path, "post", media)["allOf"]
    return resolve(document, fields), rule


def test_multipart_execute_fields_are_never_null(document):
    form, _ = ruled_body(document, "workflow/execute/", "multipart/form-data")
    assert not [name for name, prop in form["properties"].items() if prop.get("nullable")]
    assert form["properties"]["files"]["items"] == {"type": "string", "format": "binary"}


@pytest.mark.parametrize("media", ["application/json", "multipart/form-data"])
def test_execute_starts_a_new_execution_or_acts_on_one_named_by_id(document, media):
    fields, rule = ruled_body(document, "workflow/execute/", media)
    new, existing = rule["oneOf"]
    assert existing["required"] == ["execution_id"]
    assert [action for action in new["properties"]["execution_action"]["enum"] if action] == ["START"]
    if media == "application/json":
        assert fields["properties"]["files"]["enum"] == [None]  # files come as multipart parts only
    else:
        assert existing["not"] == {"required": ["files"]}


def test_file_history_clear_needs_one_filter_with_a_value(document):
    _, rule = ruled_body(document, "workflow/{workflow_id}/file-histories/clear/")
    assert [branch["required"] for branch in rule["anyOf"]] == [
        ["ids"], ["status"], ["execution_count_min"], ["execution_count_max"], ["file_path"]]
    assert rule["anyOf"][0]["properties"]["ids"]["minItems"] == 1


def variant_fields(document, variant: dict, discriminator: str, field: str) -> tuple[str, str]:
    """(the discriminator's one value, the document component) of one typed body variant."""
    narrowed = resolve(document, variant)["allOf"][1]["properties"]
    (value,) = narrowed[discriminator]["enum"]
    return value, narrowed[field]["$ref"].rsplit("/", 1)[-1]


def test_connector_bodies_are_one_of_the_registered_types(document):
    create = body_schema(document, "connector/", "post")
    assert create["discriminator"]["propertyName"] == "connector_id"
    assert set(create["discriminator"]["mapping"]) == set(registry.TYPES)
    pairs = {variant_fields(document, v, "connector_id", "connector_metadata") for v in create["oneOf"]}
    assert pairs == {(cid, connector_metadata_name(cid)) for cid in registry.TYPES}


def test_connector_metadata_components_are_the_registry_documents(document):
    for connector_id, connector in registry.TYPES.items():
        metadata = component(document, connector_metadata_name(connector_id))
        assert metadata == openapi_schema(connector.metadata_schema)
        assert metadata["required"] == connector.metadata_schema["required"]
        assert "$schema" not in metadata


def test_connector_patch_sends_metadata_with_its_type_or_no_metadata(document):
    update = body_schema(document, "connector/{connector_id}/", "patch")
    rename, *typed = update["oneOf"]
    assert rename["allOf"][1] == {"not": {"required": ["connector_metadata"]}}
    assert {variant_fields(document, v, "connector_id", "connector_metadata") for v in typed} == {
        (cid, connector_metadata_name(cid)) for cid in registry.TYPES}
    assert all(v["allOf"][1]["required"] == ["connector_id", "connector_metadata"] for v in typed)


def test_tool_instance_bodies_are_one_of_the_tools(document):
    create = body_schema(document, "tool_instance/", "post")
    assert create["discriminator"]["propertyName"] == "tool_id"
    pairs = {variant_fields(document, v, "tool_id", "metadata") for v in create["oneOf"]}
    assert pairs == {(tool_id, tool_settings_name(tool_id)) for tool_id in TOOLS}
    update = body_schema(document, "tool_instance/{instance_id}/", "patch")
    assert len(update["oneOf"]) == len(TOOLS) + 1


def test_metadata_is_required_for_the_tools_whose_settings_require_something(document):
    create = body_schema(document, "tool_instance/", "post")
    required = {variant_fields(document, v, "tool_id", "metadata")[0]: resolve(document, v)["allOf"][1].get("required")
                for v in create["oneOf"]}
    assert required == {"field_extractor": ["metadata"], "llm_extractor": ["metadata"], "text_extractor": None}


def test_tool_settings_are_openapi_schemas(document):
    settings = component(document, tool_settings_name("text_extractor"))
    assert settings["properties"]["max_pages"]["type"] == "integer"
    assert settings["properties"]["max_pages"]["nullable"] is True
    rules = component(document, tool_settings_name("field_extractor"))["properties"]["rules"]
    assert rules["minItems"] == 1 and rules["items"]["required"] == ["name", "pattern"]


def test_draft7_keywords_become_openapi_ones():
    converted = openapi_schema({"$schema": "x", "type": "object", "if": {}, "then": {},
                                "properties": {"a": {"const": 1}, "b": {"type": ["string", "integer"]},
                                               "c": {"type": "string", "enum": ["x"], "enumNames": ["X"]}}})
    assert converted == {"type": "object", "properties": {
        "a": {"enum": [1]}, "b": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "c": {"type": "string", "enum": ["x"]}}}
