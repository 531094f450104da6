"""Workflow actions: active toggle, can-update, clear-file-marker, settings schema, users, co-owners
(active/, can-update/, clear-file-marker/, schema/, users/, owners/)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, select

from tests.api.calls import create
from unstract import jsonschemas
from unstract.extensions import db
from unstract.models import (
    Execution,
    ExecutionLog,
    FileExecution,
    FileHistory,
    FileReservation,
    Organization,
    User,
    WorkflowMembership,
)


def uid(world, name: str) -> str:
    return str(world.users[name].id)


def only_error(response, status: int) -> dict:
    assert response.status_code == status, response.json
    assert len(response.json["errors"]) == 1
    return response.json["errors"][0]


# --- PUT workflow/active/{id}/ ---------------------------------------------------------------------

def test_toggle_flips_is_active_each_time(world):
    api = world.api("owner")
    body = create(api)
    first = api.put(f"workflow/active/{body['id']}/")
    assert first.status_code == 200 and first.json["is_active"] is False
    assert first.json["is_owner"] is True and first.json["id"] == body["id"]
    assert api.put(f"workflow/active/{body['id']}/").json["is_active"] is True
    assert api.get(f"workflow/{body['id']}/").json["is_active"] is True


def test_toggle_records_modifier_and_time(world):
    body = create(world.api("owner"))
    toggled = world.api("admin").put(f"workflow/active/{body['id']}/").json
    assert toggled["modified_by"] == uid(world, "admin") and toggled["modified_at"] > body["modified_at"]
    assert toggled["is_owner"] is True


def test_toggle_ignores_the_body_and_its_content_type(world):
    api = world.api("owner")
    body = create(api)
    response = api.put(f"workflow/active/{body['id']}/", data="not json at all", content_type="text/plain")
    assert response.status_code == 200 and response.json["is_active"] is False


def test_toggle_route_allows_only_put(world):
    api = world.api("owner")
    body = create(api)
    response = api.get(f"workflow/active/{body['id']}/")
    assert only_error(response, 405) == {"code": "method_not_allowed", "detail": 'Method "GET" not allowed.',
                                         "attr": None}
    assert "PUT" in response.headers["Allow"]
    assert api.patch(f"workflow/active/{body['id']}/").status_code == 405


# --- GET workflow/{id}/can-update/ -----------------------------------------------------------------

CONSTANTS = {"pipelines": [], "api_names": [], "pipeline_count": 0, "api_count": 0}


def test_can_update_is_true_for_owners_and_admins(world):
    body = create(world.api("owner"))
    for name in ("owner", "admin"):
        response = world.api(name).get(f"workflow/{body['id']}/can-update/")
        assert response.json == {"can_update": True, "reason": None, **CONSTANTS}


def test_can_update_is_false_with_a_reason_for_viewers(world):
    body = create(world.api("owner"), shared_users=[uid(world, "viewer")], shared_to_org=True)
    for name in ("viewer", "member"):
        response = world.api(name).get(f"workflow/{body['id']}/can-update/")
        assert response.json == {
            "can_update": False,
            "reason": "Only an owner of the workflow or an organization admin can update it.", **CONSTANTS}


def test_can_update_follows_co_ownership(world):
    api = world.api("owner")
    body = create(api, shared_users=[uid(world, "viewer")])
    api.post(f"workflow/{body['id']}/owners/", json={"user_id": uid(world, "viewer")})
    assert world.api("viewer").get(f"workflow/{body['id']}/can-update/").json["can_update"] is True


# --- GET/POST workflow/{id}/clear-file-marker/ -----------------------------------------------------

def _history(workflow_id: str, count: int, *, status: str = "COMPLETED") -> None:
    for index in range(count):
        db.session.add(FileHistory(workflow_id=uuid.UUID(workflow_id), cache_key=f"{index:064d}",
                                   file_path=f"/in/{index}.txt", path_key=f"/in/{index}.txt", status=status,
                                   metadata_={"file_name": f"{index}.txt"}))
    db.session.commit()


def _reserved_run(workflow_id: str) -> Execution:
    org = db.session.scalar(select(Organization).where(Organization.org_id == "acme"))
    run = Execution(workflow_id=uuid.UUID(workflow_id), organization_id=org.id, status="EXECUTING")
    db.session.add(run)
    db.session.flush()
    file = FileExecution(execution_id=run.id, file_number=1, file_name="a.txt", file_hash="f" * 64,
                         mime_type="text/plain", status="EXECUTING")
    db.session.add(file)
    db.session.flush()
    db.session.add(FileReservation(workflow_id=run.workflow_id, path_key="/in/a.txt", cache_key="f" * 64,
                                   execution_id=run.id, file_execution_id=file.id))
    db.session.add(ExecutionLog(execution_id=run.id, level="INFO", stage="SOURCE", data={"log": "x"}))
    db.session.commit()
    return run


def _count(model, **where) -> int:
    query = select(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return len(db.session.scalars(query).all())


def test_clear_file_marker_deletes_history_and_reservations_of_that_workflow_only(world):
    api = world.api("owner")
    body, other = create(api, "Cleared"), create(api, "Untouched")
    _history(body["id"], 2)
    _history(other["id"], 1)
    db.session.add(FileHistory(workflow_id=uuid.UUID(body["id"]), cache_key="e" * 64, path_key="",
                               status="ERROR", error="boom"))
    db.session.commit()
    run = _reserved_run(body["id"])
    response = api.get(f"workflow/{body['id']}/clear-file-marker/")
    assert response.status_code == 200
    assert response.json == {"message": "File marker cleared successfully.", "deleted_count": 3}
    db.session.expire_all()
    assert _count(FileHistory, workflow_id=uuid.UUID(body["id"])) == 0
    assert _count(FileHistory, workflow_id=uuid.UUID(other["id"])) == 1
    assert _count(FileReservation) == 0
    assert _count(Execution, id=run.id) == 1 and _count(FileExecution, execution_id=run.id) == 1
    assert _count(ExecutionLog, execution_id=run.id) == 1


def test_clear_file_marker_by_post_ignores_the_body(world):
    api = world.api("owner")
    body = create(api)
    _history(body["id"], 4)
    path = f"workflow/{body['id']}/clear-file-marker/"
    response = api.post(path, data="<xml/>", content_type="application/xml")
    assert response.json == {"message": "File marker cleared successfully.", "deleted_count": 4}
    assert api.post(path).json["deleted_count"] == 0


def test_clear_file_marker_route_allows_get_and_post_only(world):
    api = world.api("owner")
    body = create(api)
    response = api.delete(f"workflow/{body['id']}/clear-file-marker/")
    assert response.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["Allow"].split(",")}


# --- GET workflow/schema/ ----------------------------------------------------------------------------

@pytest.mark.parametrize(("type_", "entity"), [
    ("src", "file"), ("src", "api"), ("dest", "file"), ("dest", "db"), ("dest", "api")])
def test_schema_returns_the_document_for_each_allowed_pair(world, type_, entity):
    response = world.api("member").get(f"workflow/schema/?type={type_}&entity={entity}")
    assert response.status_code == 200
    assert response.json == jsonschemas.schema_for_query(type_, entity)


def test_schema_defaults_to_file_source(world):
    api = world.api("member")
    document = api.get("workflow/schema/").json
    assert document["title"] == "File Source Settings"
    assert api.get("workflow/schema/?type=dest").json["title"] == "File Destination Settings"
    assert api.get("workflow/schema/?entity=api").json == jsonschemas.schema_for_query("src", "api")
    assert api.get("workflow/schema/?type=dest&entity=api").json == {}


def test_schema_rejects_unknown_type_and_entity(world):
    api = world.api("member")
    assert only_error(api.get("workflow/schema/?type=SRC"), 400) == {
        "code": "invalid_choice", "detail": '"SRC" is not a valid choice.', "attr": "type"}
    assert only_error(api.get("workflow/schema/?entity=s3"), 400) == {
        "code": "invalid_choice", "detail": '"s3" is not a valid choice.', "attr": "entity"}
    both = api.get("workflow/schema/?type=x&entity=y").json["errors"]
    assert [(e["attr"], e["code"]) for e in both] == [
        ("type", "invalid_choice"), ("entity", "invalid_choice")]


def test_schema_rejects_pairs_that_are_not_allowed(world):
    response = world.api("member").get("workflow/schema/?type=src&entity=db")
    assert only_error(response, 400) == {
        "code": "invalid_choice", "detail": '"db" is not a valid choice for type "src".', "attr": "entity"}


# --- GET workflow/{id}/users/ ----------------------------------------------------------------------

def person(world, name: str) -> dict:
    return {"id": uid(world, name), "email": world.people[name][0]}


def test_users_lists_viewers_owners_and_creator_in_membership_order(world):
    api = world.api("owner")
    body = create(api, shared_users=[uid(world, "member"), uid(world, "viewer")], shared_to_org=True)
    api.post(f"workflow/{body['id']}/owners/", json={"user_id": uid(world, "admin")})
    response = world.api("member").get(f"workflow/{body['id']}/users/")
    assert response.status_code == 200
    assert response.json == {
        "id": body["id"], "workflow_name": "Invoices", "shared_to_org": True,
        "shared_users": [person(world, "member"), person(world, "viewer")],
        "co_owners": [person(world, "owner"), person(world, "admin")],
        "created_by": person(world, "owner"),
    }


def test_users_created_by_is_null_when_the_creator_is_deleted(world):
    body = create(world.api("owner"))
    db.session.execute(delete(User).where(User.id == world.users["owner"].id))
    db.session.commit()
    shown = world.api("admin").get(f"workflow/{body['id']}/users/").json
    assert shown["created_by"] is None and shown["co_owners"] == []


# --- Co-owners -----------------------------------------------------------------------------------------

def test_adding_a_member_as_co_owner_gives_owner_rights(world):
    api = world.api("owner")
    body = create(api)
    response = api.post(f"workflow/{body['id']}/owners/", json={"user_id": uid(world, "member")})
    assert response.status_code == 200
    assert response.json["co_owners"] == [person(world, "owner"), person(world, "member")]
    member = world.api("member")
    shown = member.get(f"workflow/{body['id']}/").json
    assert shown["is_owner"] is True and shown["co_owners_count"] == 2
    assert shown["owner_emails"] == ["owner@acme.test", "member@acme.test"]
    assert member.patch(f"workflow/{body['id']}/", json={"description": "by co-owner"}).status_code == 200


def test_a_viewer_is_promoted_in_place(world):
    api = world.api("owner")
    body = create(api, shared_users=[uid(world, "viewer")])
    api.post(f"workflow/{body['id']}/owners/", json={"user_id": uid(world, "member")})
    promoted = api.post(f"workflow/{body['id']}/owners/", json={"user_id": uid(world, "viewer")}).json
    assert promoted["shared_users"] == []
    assert promoted["co_owners"] == [person(world, "owner"), person(world, "viewer"), person(world, "member")]
    rows = db.session.scalars(select(WorkflowMembership).where(
        WorkflowMembership.user_id == world.users["viewer"].id)).all()
    assert [r.role for r in rows] == ["owner"]


def test_add_owner_body_rules(world):
    api = world.api("owner")
    body = create(api)
    path = f"workflow/{body['id']}/owners/"
    owner, outsider = uid(world, "owner"), uid(world, "outsider")
    assert only_error(api.post(path, json={}), 400) == {
        "code": "required", "detail": "This field is required.", "attr": "user_id"}
    assert only_error(api.post(path, json={"user_id": "abc"}), 400) == {
        "code": "invalid", "detail": "Must be a valid UUID.", "attr": "user_id"}
    assert only_error(api.post(path, json={"user_id": 12}), 400)["detail"] == "Must be a valid UUID."
    assert only_error(api.post(path, json={"user_id": outsider}), 400) == {
        "code": "invalid", "detail": f"User {outsider} is not a member of this organization.",
        "attr": "user_id"}
    assert only_error(api.post(path, json={"user_id": owner}), 400) == {
        "code": "invalid", "detail": f"User {owner} is already an owner.", "attr": "user_id"}
    assert only_error(api.post(path, json=["x"]), 400)["detail"] == "Expected a JSON object."


def test_removing_a_co_owner_drops_their_access(world):
    api = world.api("owner")
    body = create(api)
    api.post(f"workflow/{body['id']}/owners/", json={"user_id": uid(world, "member")})
    response = api.delete(f"workflow/{body['id']}/owners/{uid(world, 'member')}/")
    assert response.status_code == 204 and response.data == b""
    assert world.api("member").get(f"workflow/{body['id']}/").status_code == 404
    assert api.get(f"workflow/{body['id']}/users/").json["co_owners"] == [person(world, "owner")]


def test_a_co_owner_can_remove_the_creator(world):
    api = world.api("owner")
    body = create(api)
    api.post(f"workflow/{body['id']}/owners/", json={"user_id": uid(world, "member")})
    response = world.api("member").delete(f"workflow/{body['id']}/owners/{uid(world, 'owner')}/")
    assert response.status_code == 204
    assert api.get(f"workflow/{body['id']}/").status_code == 404


def test_the_last_owner_cannot_be_removed(world):
    body = create(world.api("owner"))
    for name in ("owner", "admin"):
        response = world.api(name).delete(f"workflow/{body['id']}/owners/{uid(world, 'owner')}/")
        assert only_error(response, 409) == {
            "code": "last_owner", "detail": "The last owner cannot be removed.", "attr": None}
        assert response.json["type"] == "client_error"


def test_removing_a_user_without_owner_membership_is_404(world):
    api = world.api("owner")
    body = create(api, shared_users=[uid(world, "viewer")])
    for user_id in (uid(world, "viewer"), uid(world, "member"), str(uuid.uuid4())):
        response = api.delete(f"workflow/{body['id']}/owners/{user_id}/")
        assert only_error(response, 404)["code"] == "not_found"
    assert api.delete(f"workflow/{body['id']}/owners/not-a-uuid/").status_code == 404
    assert world.api("viewer").get(f"workflow/{body['id']}/").status_code == 200
