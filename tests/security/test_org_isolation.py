"""Org isolation (docs/API.md, Organizations and roles): another org's id behaves like an unknown one, anywhere."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from tests.security.matrix import MATRIX, RULE_VARIABLE, fill, request_for
from tests.security.scene import build_scene
from unstract.extensions import db
from unstract.models import Connector, FileHistory, ToolInstance, Workflow

NOT_FOUND = {"type": "client_error", "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}]}
pytestmark = pytest.mark.slow  # every id-taking route, twice, each with two orgs of objects

ID_ROWS = [key for key in MATRIX if RULE_VARIABLE.search(key[0]) or "{workflow_id}" in str(MATRIX[key][2:])]


@pytest.fixture
def scenes(world, storage_root):
    """The same objects in org acme (owned by `owner`) and in org other (owned by `outsider`)."""
    return {"acme": build_scene(world, "acme", "owner", storage_root),
            "other": build_scene(world, "other", "outsider", storage_root)}


def row_counts() -> tuple:
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Workflow, Connector, ToolInstance, FileHistory))


def test_rows_naming_an_object_cover_every_kind_of_id():
    named = {name for rule, _ in ID_ROWS for name in RULE_VARIABLE.findall(rule)}
    assert named == {"workflow_id", "execution_id", "history_id", "user_id", "endpoint_id", "connector_id",
                     "instance_id", "adapter_id", "file_execution_id", "schedule_id", "notification_id",
                     "delivery_id", "deployment_id", "key_id"}


@pytest.mark.parametrize(("rule", "method"), ID_ROWS, ids=[f"{m} {r}" for r, m in ID_ROWS])
def test_ids_of_another_org_are_not_found_even_for_an_admin(world, scenes, rule, method):
    """The acme admin sees every acme object; other's ids in acme's base are still 404, and nothing changes."""
    _, _, query, body = MATRIX[(rule, method)]
    extra = {"member": str(world.users["member"].id), "user_id": str(world.users["outsider"].id)}
    path, values = request_for(rule, query, scenes["other"], "admin", extra)
    before = row_counts()
    response = world.api("admin").request(method, path, json=fill(body, values))
    assert response.status_code == 404, response.get_json()
    assert response.json == NOT_FOUND
    assert row_counts() == before


@pytest.mark.parametrize(("rule", "method"), ID_ROWS, ids=[f"{m} {r}" for r, m in ID_ROWS])
def test_acme_ids_are_not_found_from_the_other_org(world, scenes, rule, method):
    _, _, query, body = MATRIX[(rule, method)]
    extra = {"member": str(world.users["owner"].id), "user_id": str(world.users["owner"].id)}
    path, values = request_for(rule, query, scenes["acme"], "admin", extra)
    response = world.api("outsider", org_id="other").request(method, path, json=fill(body, values))
    assert response.status_code == 404, response.get_json()
    assert response.json == NOT_FOUND


def test_lists_never_show_rows_of_another_org(world, scenes):
    admin = world.api("admin")
    ids = {row["id"] for path in ("workflow/", "connector/", "member/") for row in admin.get(path).json["results"]}
    other = scenes["other"]
    assert not ids & {other["private"]["workflow_id"], other["shared"]["workflow_id"], other["connector_id"],
                      str(world.users["outsider"].id)}
    workflows = admin.get("workflow/").json
    assert workflows["count"] == len(workflows["results"])  # the count leaves the other org's rows out too


def test_a_connector_of_another_org_cannot_be_attached_to_an_endpoint(world, scenes):
    endpoint = scenes["acme"]["private"]["endpoint_id"]
    body = {"connection_type": "FILESYSTEM", "connector_instance_id": scenes["other"]["connector_id"]}
    response = world.api("owner").patch(f"workflow/endpoint/{endpoint}/", json=body)
    assert response.status_code == 400
    assert response.json["errors"] == [{"code": "invalid", "detail": "Connector not found.",
                                        "attr": "connector_instance_id"}]


def test_a_user_of_another_org_cannot_be_a_shared_user(world, scenes):
    outsider = world.users["outsider"].id
    expected = [{"code": "invalid", "detail": f"User {outsider} is not a member of this organization.",
                 "attr": "shared_users"}]
    owner = world.api("owner")
    created = owner.post("workflow/", json={"workflow_name": "Shared out", "shared_users": [str(outsider)]})
    assert (created.status_code, created.json["errors"]) == (400, expected)
    workflow_id = scenes["acme"]["private"]["workflow_id"]
    patched = owner.patch(f"workflow/{workflow_id}/", json={"shared_users": [str(outsider)]})
    assert (patched.status_code, patched.json["errors"]) == (400, expected)


def test_a_user_of_another_org_cannot_be_made_co_owner(world, scenes):
    outsider = world.users["outsider"].id
    workflow_id = scenes["acme"]["private"]["workflow_id"]
    response = world.api("owner").post(f"workflow/{workflow_id}/owners/", json={"user_id": str(outsider)})
    assert response.status_code == 400
    assert response.json["errors"] == [{"code": "invalid", "attr": "user_id",
                                        "detail": f"User {outsider} is not a member of this organization."}]


def test_clearing_by_ids_skips_rows_of_other_workflows_and_orgs(world, scenes):
    acme, other = scenes["acme"], scenes["other"]
    foreign = [other["private"]["history_id"], acme["shared"]["history_id"]]
    path = f"workflow/{acme['private']['workflow_id']}/file-histories/clear/"
    response = world.api("admin").post(path, json={"ids": foreign})
    assert response.json == {"deleted_count": 0, "message": "0 file history records deleted"}
    assert db.session.scalar(select(func.count()).select_from(FileHistory)) == 4
    mixed = world.api("admin").post(path, json={"ids": [*foreign, acme["private"]["history_id"]]})
    assert mixed.json["deleted_count"] == 1
    assert db.session.get(FileHistory, uuid.UUID(other["private"]["history_id"])) is not None


def test_a_tool_instance_cannot_be_added_to_a_workflow_of_another_org(world, scenes):
    body = {"workflow_id": scenes["other"]["private"]["workflow_id"], "tool_id": "text_extractor"}
    response = world.api("admin").post("tool_instance/", json=body)
    assert (response.status_code, response.json) == (404, NOT_FOUND)
    assert db.session.scalar(select(func.count()).select_from(ToolInstance)) == 4


def test_execute_names_only_workflows_and_executions_of_the_org(world, scenes):
    admin = world.api("admin")
    other_workflow = scenes["other"]["private"]["workflow_id"]
    response = admin.post("workflow/execute/", json={"workflow_id": other_workflow, "timeout": 0})
    assert (response.status_code, response.json) == (404, NOT_FOUND)
    own_workflow = scenes["acme"]["private"]["workflow_id"]
    for action in (None, "STOP", "NEXT"):
        body = {"workflow_id": own_workflow, "execution_id": scenes["other"]["private"]["execution_id"],
                "execution_action": action, "timeout": 0}
        response = admin.post("workflow/execute/", json=body)
        assert (response.status_code, response.json) == (404, NOT_FOUND), action
