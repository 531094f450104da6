"""Tools and tool instances: settings validation, step numbering, permissions."""

from __future__ import annotations

import uuid

import pytest

from tests.api.calls import errors_of
from tests.factories import acme_workflow
from tests.support import ApiClient
from unstract.jsonschemas import TOOL_SETTINGS

RULES = {"rules": [{"name": "total", "pattern": r"Total:\s*(\S+)", "group": 1}]}


@pytest.fixture
def workflow(world):
    return acme_workflow(world).id


def add(api, workflow_id, tool_id="text_extractor", **body):
    return api.post("tool_instance/", json={"workflow_id": str(workflow_id), "tool_id": tool_id, **body})


def steps(api, workflow_id) -> list[tuple[str, int]]:
    """(id, step) of the workflow's instances as the API lists them."""
    results = api.get(f"tool_instance/?workflow_id={workflow_id}").json["results"]
    return [(row["id"], row["step"]) for row in results]


def error(code: str, detail: str, attr: str) -> dict:
    return {"code": code, "detail": detail, "attr": attr}


# --- Tools ---------------------------------------------------------------------------------------

def test_tools_are_listed_by_id_with_settings_schemas(world):
    body = world.api("member", "read").get("tool/").json
    assert body["count"] == 3
    assert [(t["tool_id"], t["name"]) for t in body["results"]] == [
        ("field_extractor", "Field extractor"), ("llm_extractor", "LLM extractor"),
        ("text_extractor", "Text extractor")]
    assert all(t["settings_schema"] == TOOL_SETTINGS[t["tool_id"]] for t in body["results"])
    assert all(t["description"] for t in body["results"])
    assert world.api("member").get("tool/?page=2").json["errors"][0]["code"] == "invalid_page"


# --- Create --------------------------------------------------------------------------------------

def test_create_appends_with_defaults_filled(world, workflow):
    api = world.api("owner")
    response = add(api, workflow)
    assert response.status_code == 201
    body = response.json
    assert list(body) == ["id", "workflow", "tool_id", "step", "metadata", "created_at", "modified_at"]
    assert body["workflow"] == str(workflow) and body["step"] == 1
    assert body["metadata"] == {"normalize_whitespace": False, "max_pages": None,
                                "mode": "auto", "ocr_language": "eng", "dpi": 300, "ocr_min_chars": 20}
    second = add(api, workflow, "field_extractor", metadata=RULES).json
    assert second["step"] == 2
    assert second["metadata"] == {"rules": [{"name": "total", "pattern": r"Total:\s*(\S+)", "group": 1,
                                             "type": "string", "required": False}]}


def test_insert_shifts_later_steps_down(world, workflow):
    api = world.api("owner")
    first, second = add(api, workflow).json["id"], add(api, workflow).json["id"]
    inserted = add(api, workflow, step=1).json["id"]
    middle = add(api, workflow, step=3).json["id"]
    assert steps(api, workflow) == [(inserted, 1), (first, 2), (middle, 3), (second, 4)]


def test_step_outside_one_to_n_plus_one_is_rejected(world, workflow):
    api = world.api("owner")
    add(api, workflow)
    add(api, workflow)
    assert errors_of(add(api, workflow, step=0)) == [
        error("min_value", "Ensure this value is greater than or equal to 1.", "step")]
    assert errors_of(add(api, workflow, step=4)) == [
        error("max_value", "Ensure this value is less than or equal to 3.", "step")]
    assert errors_of(add(api, workflow, step="two")) == [
        error("invalid", "A valid integer is required.", "step")]
    assert add(api, workflow, step=3).status_code == 201


def test_required_and_malformed_fields_are_listed_in_table_order(world):
    response = world.api("owner").post("tool_instance/", json={"metadata": [], "step": 1.5})
    assert errors_of(response) == [
        error("required", "This field is required.", "workflow_id"),
        error("required", "This field is required.", "tool_id"),
        error("invalid", "Must be a JSON object.", "metadata"),
        error("invalid", "A valid integer is required.", "step"),
    ]


def test_bad_workflow_id_and_unknown_tool(world):
    response = world.api("owner").post("tool_instance/", json={"workflow_id": "xyz", "tool_id": "ocr"})
    assert errors_of(response) == [error("invalid", "Must be a valid UUID.", "workflow_id"),
                                   error("invalid_choice", '"ocr" is not a valid choice.', "tool_id")]


def test_metadata_is_validated_against_the_tool_schema(world, workflow):
    api = world.api("owner")
    response = add(api, workflow, metadata={"max_pages": 0, "ocr": True})
    assert [(e["attr"], e["code"]) for e in errors_of(response)] == [
        ("metadata.max_pages", "min_value"), ("metadata.ocr", "unknown_field")]
    missing = add(api, workflow, "field_extractor")
    assert [(e["attr"], e["code"]) for e in errors_of(missing)] == [("metadata.rules", "required")]


def test_field_extractor_regex_group_and_name_rules(world, workflow):
    rules = [{"name": "a", "pattern": "(unclosed"}, {"name": "b", "pattern": r"(\d+)", "group": 2},
             {"name": "a", "pattern": "x"}]
    response = add(world.api("owner"), workflow, "field_extractor", metadata={"rules": rules})
    found = errors_of(response)
    assert [(e["attr"], e["code"]) for e in found] == [
        ("metadata.rules.0.pattern", "invalid_regex"), ("metadata.rules.1.group", "invalid"),
        ("metadata.rules.2.name", "unique")]
    assert found[0]["detail"].startswith("Invalid regular expression: ") and found[0]["detail"].endswith(".")
    assert found[1]["detail"] == "Group 2 does not exist in the pattern."
    assert found[2]["detail"] == "Duplicate rule name: 'a'."


def test_body_is_validated_before_the_workflow_lookup(world, workflow):
    hidden = acme_workflow(world, "Hidden", viewers=()).id
    assert add(world.api("member"), hidden, "nope").status_code == 400
    assert add(world.api("member"), hidden).status_code == 404
    assert add(world.api("member"), uuid.uuid4()).status_code == 404
    assert add(world.api("viewer"), workflow, "nope").status_code == 400
    assert add(world.api("viewer"), workflow).status_code == 403


# --- List and read -------------------------------------------------------------------------------

def test_list_needs_a_valid_workflow_id(world, workflow):
    api = world.api("owner")
    assert errors_of(api.get("tool_instance/")) == [
        error("required", "This field is required.", "workflow_id")]
    assert errors_of(api.get("tool_instance/?workflow_id=12")) == [
        error("invalid", "Must be a valid UUID.", "workflow_id")]
    assert api.get(f"tool_instance/?workflow_id={uuid.uuid4()}").status_code == 404
    empty = api.get(f"tool_instance/?workflow_id={str(workflow).upper()}").json
    assert empty == {"count": 0, "next": None, "previous": None, "results": []}


def test_get_one_instance_and_put_is_not_allowed(world, workflow):
    api = world.api("owner")
    instance = add(api, workflow).json
    assert world.api("viewer").get(f"tool_instance/{instance['id']}/").json == instance
    put = api.put(f"tool_instance/{instance['id']}/", json={})
    assert put.status_code == 405 and "DELETE" in put.headers["Allow"]
    assert api.get(f"tool_instance/{uuid.uuid4()}/").status_code == 404
    assert api.get("tool_instance/not-a-uuid/").status_code == 404


# --- Update and delete ---------------------------------------------------------------------------

def test_patch_moves_a_step_and_renumbers_the_others(world, workflow):
    api = world.api("owner")
    a, b, c, d = (add(api, workflow).json["id"] for _ in range(4))
    moved = api.patch(f"tool_instance/{d}/", json={"step": 1})
    assert moved.status_code == 200 and moved.json["step"] == 1
    assert steps(api, workflow) == [(d, 1), (a, 2), (b, 3), (c, 4)]
    api.patch(f"tool_instance/{d}/", json={"step": 3})
    assert steps(api, workflow) == [(a, 1), (b, 2), (d, 3), (c, 4)]


def test_patch_step_range_is_one_to_n(world, workflow):
    api = world.api("owner")
    first = add(api, workflow).json["id"]
    add(api, workflow)
    assert errors_of(api.patch(f"tool_instance/{first}/", json={"step": 3})) == [
        error("max_value", "Ensure this value is less than or equal to 2.", "step")]
    assert errors_of(api.patch(f"tool_instance/{first}/", json={"step": 0})) == [
        error("min_value", "Ensure this value is greater than or equal to 1.", "step")]


def test_patch_metadata_is_validated_for_the_stored_tool_and_ignores_tool_and_workflow(world, workflow):
    api = world.api("owner")
    instance = add(api, workflow, "field_extractor", metadata=RULES).json
    other = acme_workflow(world, "Other").id
    response = api.patch(f"tool_instance/{instance['id']}/", json={
        "metadata": {"rules": [{"name": "n", "pattern": "x"}]}, "tool_id": "text_extractor",
        "workflow_id": str(other)})
    assert response.status_code == 200
    assert response.json["tool_id"] == "field_extractor" and response.json["workflow"] == str(workflow)
    assert response.json["metadata"]["rules"][0] == {
        "name": "n", "pattern": "x", "group": 0, "type": "string", "required": False}
    bad = api.patch(f"tool_instance/{instance['id']}/", json={"metadata": {"normalize_whitespace": True},
                                                              "step": 9})
    assert [(e["attr"], e["code"]) for e in errors_of(bad)] == [
        ("metadata.normalize_whitespace", "unknown_field"), ("metadata.rules", "required"),
        ("step", "max_value")]


def test_delete_moves_later_steps_up(world, workflow):
    api = world.api("owner")
    a, b, c = (add(api, workflow).json["id"] for _ in range(3))
    response = api.delete(f"tool_instance/{a}/")
    assert response.status_code == 204 and response.data == b""
    assert steps(api, workflow) == [(b, 1), (c, 2)]
    assert api.get(f"tool_instance/{a}/").status_code == 404


# --- Authorization matrix ------------------------------------------------------------------------

MATRIX = [
    # who,                 shared, list, get, post, patch, delete
    ("owner",              False,  200,  200, 201,  200,   204),
    ("viewer",             False,  200,  200, 403,  403,   403),
    ("org_shared_member",  True,   200,  200, 403,  403,   403),
    ("unrelated_member",   False,  404,  404, 404,  404,   404),
    ("admin",              False,  200,  200, 201,  200,   204),
    ("other_org",          False,  404,  404, 404,  404,   404),
    ("anonymous",          False,  401,  401, 401,  401,   401),
    ("read_key",           False,  200,  200, 403,  403,   403),
]


def client_for(world, app, who: str) -> ApiClient:
    if who == "anonymous":
        return ApiClient(app.test_client(), "acme", None)
    names = {"org_shared_member": "member", "unrelated_member": "member", "read_key": "owner",
             "other_org": "outsider"}
    return world.api(names.get(who, who), "read" if who == "read_key" else "full_access", org_id="acme")


@pytest.mark.parametrize(("who", "shared", "list_", "get", "post", "patch", "delete"), MATRIX)
def test_authorization_matrix(world, app, who, shared, list_, get, post, patch, delete):
    workflow_id = acme_workflow(world, shared_to_org=shared).id
    instance = add(world.api("owner"), workflow_id).json["id"]
    api = client_for(world, app, who)
    assert api.get(f"tool_instance/?workflow_id={workflow_id}").status_code == list_
    assert api.get(f"tool_instance/{instance}/").status_code == get
    assert api.get("tool/").status_code == (list_ if who != "unrelated_member" else 200)
    assert add(api, workflow_id).status_code == post
    assert api.patch(f"tool_instance/{instance}/", json={"step": 1}).status_code == patch
    assert api.delete(f"tool_instance/{instance}/").status_code == delete
