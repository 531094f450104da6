"""Workflow CRUD, list filters, ordering, pagination, writable-field validation and sharing."""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import delete, event, insert, select, update

from tests.api.calls import create, errors_of
from unstract import errors
from unstract.extensions import db
from unstract.models import (
    Connector,
    Execution,
    ExecutionLog,
    FileExecution,
    FileHistory,
    FileReservation,
    Organization,
    ToolInstance,
    User,
    Workflow,
    WorkflowEndpoint,
    WorkflowMembership,
)
from unstract.policy import Requester
from unstract.services import workflows

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
REPRESENTATION_KEYS = [
    "id", "workflow_name", "description", "is_active", "status", "workflow_owner", "deployment_type",
    "source_settings", "destination_settings", "max_file_execution_count", "shared_to_org", "shared_users",
    "created_by", "modified_by", "created_at", "modified_at", "organization", "is_owner", "created_by_email",
    "owner_emails", "co_owners_count", "tool_instances",
]


def uid(world, name: str) -> str:
    return str(world.users[name].id)


# --- Create ----------------------------------------------------------------------------------------

def test_create_returns_the_full_representation_with_defaults(world):
    body = create(world.api("owner"), "  Invoices ", is_active=False)
    owner = uid(world, "owner")
    assert list(body) == REPRESENTATION_KEYS
    assert body["workflow_name"] == "Invoices"
    assert body["is_active"] is True
    assert (body["description"], body["status"], body["deployment_type"]) == ("", "", "DEFAULT")
    assert body["source_settings"] is None and body["destination_settings"] is None
    assert body["max_file_execution_count"] is None
    assert body["shared_to_org"] is False and body["shared_users"] == []
    assert body["workflow_owner"] == body["created_by"] == body["modified_by"] == owner
    assert body["organization"] == "acme" and body["is_owner"] is True
    assert body["created_by_email"] == "owner@acme.test"
    assert body["owner_emails"] == ["owner@acme.test"] and body["co_owners_count"] == 1
    assert body["tool_instances"] == []
    assert TIMESTAMP.match(body["created_at"]) and TIMESTAMP.match(body["modified_at"])
    assert str(uuid.UUID(body["id"])) == body["id"]


def test_create_adds_owner_membership_and_two_unconfigured_endpoints(world):
    body = create(world.api("owner"))
    workflow_id = uuid.UUID(body["id"])
    memberships = db.session.scalars(
        select(WorkflowMembership).where(WorkflowMembership.workflow_id == workflow_id)).all()
    assert [(m.user_id, m.role) for m in memberships] == [(world.users["owner"].id, "owner")]
    endpoints = db.session.scalars(
        select(WorkflowEndpoint).where(WorkflowEndpoint.workflow_id == workflow_id)
        .order_by(WorkflowEndpoint.endpoint_type.desc())).all()
    assert [(e.endpoint_type, e.connection_type, e.configuration, e.connector_instance_id)
            for e in endpoints] == [("SOURCE", "", None, None), ("DESTINATION", "", None, None)]


def test_create_stores_every_writable_field_and_collapses_duplicate_users(world):
    viewer, member = uid(world, "viewer"), uid(world, "member")
    body = create(world.api("owner"), "Full", description="All fields", status="draft",
                  deployment_type="ETL", source_settings={"a": [1]}, destination_settings=[1, "x"],
                  max_file_execution_count=5, shared_to_org=True,
                  shared_users=[member, viewer, member.upper()])
    assert body["description"] == "All fields" and body["status"] == "draft"
    assert body["deployment_type"] == "ETL"
    assert body["source_settings"] == {"a": [1]} and body["destination_settings"] == [1, "x"]
    assert body["max_file_execution_count"] == 5 and body["shared_to_org"] is True
    assert body["shared_users"] == [member, viewer]
    assert body["co_owners_count"] == 1


def test_create_ignores_read_only_fields(world):
    body = create(world.api("owner"), "Read only", id=str(uuid.uuid4()), is_owner=False,
                  workflow_owner=uid(world, "member"), organization="other", co_owners_count=9,
                  created_by=uid(world, "member"))
    assert body["workflow_owner"] == body["created_by"] == uid(world, "owner")
    assert body["organization"] == "acme" and body["co_owners_count"] == 1 and body["is_owner"] is True


def test_create_accepts_every_deployment_type(world):
    api = world.api("owner")
    for index, value in enumerate(["DEFAULT", "ETL", "TASK", "API", "APP"]):
        assert create(api, f"Type {index}", deployment_type=value)["deployment_type"] == value


# --- Retrieve ----------------------------------------------------------------------------------------

def test_retrieve_reports_is_owner_for_the_requester(world):
    body = create(world.api("owner"), shared_users=[uid(world, "viewer")])
    path = f"workflow/{body['id']}/"
    assert world.api("viewer").get(path).json["is_owner"] is False
    assert world.api("admin").get(path).json["is_owner"] is True
    assert world.api("owner").get(path).json == body


def test_retrieve_accepts_an_upper_case_id_and_404s_malformed_or_unknown_ids(world):
    api = world.api("owner")
    body = create(api)
    assert api.get(f"workflow/{body['id'].upper()}/").json["id"] == body["id"]
    for bad in ("not-a-uuid", str(uuid.uuid4()), body["id"][:-1]):
        response = api.get(f"workflow/{bad}/")
        assert response.status_code == 404
        assert response.json["errors"] == [{"code": "not_found", "detail": "Not found.", "attr": None}]


def test_retrieve_lists_tool_instances_ordered_by_step(world):
    body = create(world.api("owner"))
    workflow_id = uuid.UUID(body["id"])
    second = ToolInstance(workflow_id=workflow_id, tool_id="field_extractor", step=2, metadata_={"rules": []})
    first = ToolInstance(workflow_id=workflow_id, tool_id="text_extractor", step=1, metadata_={})
    db.session.add_all([second, first])
    db.session.commit()
    tools = world.api("owner").get(f"workflow/{body['id']}/").json["tool_instances"]
    assert [t["tool_id"] for t in tools] == ["text_extractor", "field_extractor"]
    assert list(tools[1]) == ["id", "workflow", "tool_id", "step", "metadata", "created_at", "modified_at"]
    assert tools[1]["workflow"] == body["id"] and tools[1]["step"] == 2
    assert tools[1]["metadata"] == {"rules": []} and tools[1]["id"] == str(second.id)


def test_created_by_email_is_null_when_the_creator_is_gone(world):
    body = create(world.api("owner"), shared_to_org=True)
    db.session.execute(delete(User).where(User.id == world.users["owner"].id))
    db.session.commit()
    shown = world.api("admin").get(f"workflow/{body['id']}/").json
    assert shown["created_by"] is None and shown["created_by_email"] is None
    assert shown["owner_emails"] == [] and shown["co_owners_count"] == 0


# --- Update ----------------------------------------------------------------------------------------

def test_put_requires_workflow_name(world):
    api = world.api("owner")
    body = create(api)
    assert errors_of(api.put(f"workflow/{body['id']}/", json={"description": "x"})) == [
        {"code": "required", "detail": "This field is required.", "attr": "workflow_name"}]


def test_put_and_patch_keep_absent_fields(world):
    api = world.api("owner")
    body = create(api, description="Keep me", status="s", max_file_execution_count=2,
                  shared_users=[uid(world, "viewer")])
    put = api.put(f"workflow/{body['id']}/", json={"workflow_name": "Renamed"}).json
    assert put["workflow_name"] == "Renamed" and put["description"] == "Keep me"
    assert put["max_file_execution_count"] == 2 and put["shared_users"] == [uid(world, "viewer")]
    patch = api.patch(f"workflow/{body['id']}/", json={"status": "t"}).json
    assert (patch["workflow_name"], patch["status"], patch["description"]) == ("Renamed", "t", "Keep me")


def test_put_and_patch_can_set_is_active(world):
    api = world.api("owner")
    body = create(api)
    assert api.put(f"workflow/{body['id']}/", json={"workflow_name": "Invoices",
                                                    "is_active": False}).json["is_active"] is False
    assert api.patch(f"workflow/{body['id']}/", json={"is_active": True}).json["is_active"] is True


def test_empty_patch_records_modifier_and_time(world):
    body = create(world.api("owner"))
    patched = world.api("admin").patch(f"workflow/{body['id']}/", json={})
    assert patched.status_code == 200
    assert patched.json["modified_by"] == uid(world, "admin")
    assert patched.json["modified_at"] > body["modified_at"]
    assert patched.json["created_at"] == body["created_at"]


def test_patch_can_clear_nullable_fields(world):
    api = world.api("owner")
    body = create(api, max_file_execution_count=3, source_settings={"x": 1})
    patched = api.patch(f"workflow/{body['id']}/", json={"max_file_execution_count": None,
                                                          "source_settings": None}).json
    assert patched["max_file_execution_count"] is None and patched["source_settings"] is None


def test_shared_users_replace_the_viewers_keeping_creation_order(world):
    api = world.api("owner")
    viewer, member, admin = uid(world, "viewer"), uid(world, "member"), uid(world, "admin")
    body = create(api, shared_users=[viewer, member])
    path = f"workflow/{body['id']}/"
    assert api.patch(path, json={"shared_users": [member]}).json["shared_users"] == [member]
    assert api.patch(path, json={"shared_users": [admin, member]}).json["shared_users"] == [member, admin]
    rows = db.session.scalars(select(WorkflowMembership.user_id).where(
        WorkflowMembership.workflow_id == uuid.UUID(body["id"]), WorkflowMembership.role == "viewer")).all()
    assert {str(r) for r in rows} == {member, admin}
    assert world.api("viewer").get(path).status_code == 404
    assert api.patch(path, json={"shared_users": []}).json["shared_users"] == []


# --- Delete ----------------------------------------------------------------------------------------

def _add_runs(workflow_id: uuid.UUID, org_id: uuid.UUID) -> list[Execution]:
    """Executions in three states, each with a file, a log row, and (for the first) a reservation."""
    runs = [Execution(workflow_id=workflow_id, organization_id=org_id, status=s)
            for s in ("PENDING", "EXECUTING", "COMPLETED")]
    db.session.add_all(runs)
    db.session.flush()
    for index, run in enumerate(runs):
        file = FileExecution(execution_id=run.id, file_number=1, file_name=f"f{index}.txt",
                             file_hash="a" * 64, mime_type="text/plain", status=run.status)
        db.session.add(file)
        db.session.flush()
        db.session.add(ExecutionLog(execution_id=run.id, file_execution_id=file.id, level="INFO",
                                    stage="PROCESSING", data={"log": "x"}))
        if index == 0:
            db.session.add(FileReservation(workflow_id=workflow_id, path_key="p", cache_key="c" * 64,
                                           execution_id=run.id, file_execution_id=file.id))
    db.session.add(FileHistory(workflow_id=workflow_id, cache_key="b" * 64, status="COMPLETED"))
    db.session.add(ToolInstance(workflow_id=workflow_id, tool_id="text_extractor", step=1))
    db.session.commit()
    return runs


def test_delete_removes_the_workflow_with_everything_below_it_and_its_run_files(world, app):
    api = world.api("owner")
    body = create(api, shared_users=[uid(world, "viewer")])
    workflow_id = uuid.UUID(body["id"])
    org = db.session.scalar(select(Organization).where(Organization.org_id == "acme"))
    connector = Connector(organization_id=org.id, connector_name="Inbox", connector_id="local_storage",
                          connector_metadata={}, connector_mode="FILE_SYSTEM")
    db.session.add(connector)
    db.session.flush()
    db.session.execute(update(WorkflowEndpoint).where(WorkflowEndpoint.workflow_id == workflow_id)
                       .values(connector_instance_id=connector.id))
    runs = _add_runs(workflow_id, org.id)
    data_dir = app.config["UNSTRACT_SETTINGS"].data_dir
    run_dirs = [data_dir / area / str(run.id) for run in runs for area in ("executions", "uploads")]
    for directory in run_dirs:
        (directory / "step-1").mkdir(parents=True)
        (directory / "step-1" / "out.json").write_text("{}")

    response = api.delete(f"workflow/{body['id']}/")
    assert response.status_code == 204 and response.data == b""
    db.session.expire_all()
    assert api.get(f"workflow/{body['id']}/").status_code == 404
    for model in (Workflow, WorkflowEndpoint, ToolInstance, Execution, FileExecution, ExecutionLog,
                  FileHistory, FileReservation, WorkflowMembership):
        assert db.session.scalars(select(model)).all() == [], model.__name__
    assert db.session.get(Connector, connector.id) is not None
    assert not any(directory.exists() for directory in run_dirs)


def test_stopping_before_delete_stops_only_running_executions_and_files(world):
    body = create(world.api("owner"))
    org = db.session.scalar(select(Organization).where(Organization.org_id == "acme"))
    runs = _add_runs(uuid.UUID(body["id"]), org.id)
    ids = workflows.stop_running_executions(uuid.UUID(body["id"]))
    assert set(ids) == {run.id for run in runs}
    db.session.expire_all()
    assert [(r.status, r.stop_requested) for r in runs] == [
        ("STOPPED", True), ("STOPPED", True), ("COMPLETED", False)]
    files = db.session.scalars(select(FileExecution).order_by(FileExecution.file_name)).all()
    assert [f.status for f in files] == ["STOPPED", "STOPPED", "COMPLETED"]


def test_delete_leaves_other_workflows_alone(world):
    api = world.api("owner")
    keep, drop = create(api, "Keep"), create(api, "Drop")
    assert api.delete(f"workflow/{drop['id']}/").status_code == 204
    assert api.get(f"workflow/{keep['id']}/").status_code == 200
    assert [w["workflow_name"] for w in api.get("workflow/").json["results"]] == ["Keep"]


# --- List ------------------------------------------------------------------------------------------

def names(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [row["workflow_name"] for row in response.json["results"]]


def test_list_holds_only_the_workflows_visible_to_the_requester(world):
    owner = world.api("owner")
    create(owner, "Private")
    create(owner, "Public", shared_to_org=True)
    create(owner, "Shared", shared_users=[uid(world, "viewer")])
    ordering = "?ordering=workflow_name"
    assert names(owner.get("workflow/" + ordering)) == ["Private", "Public", "Shared"]
    assert names(world.api("admin").get("workflow/" + ordering)) == ["Private", "Public", "Shared"]
    assert names(world.api("viewer").get("workflow/" + ordering)) == ["Public", "Shared"]
    assert names(world.api("member").get("workflow/" + ordering)) == ["Public"]
    create(world.api("outsider", org_id="other"), "Elsewhere")
    assert "Elsewhere" not in names(owner.get("workflow/"))


def test_workflow_name_filter_is_exact_and_case_sensitive(world):
    api = world.api("owner")
    for name in ("Invoices", "invoices", "Invoices 2"):
        create(api, name)
    assert names(api.get("workflow/?workflow_name=Invoices")) == ["Invoices"]
    assert names(api.get("workflow/?workflow_name=INVOICES")) == []


def test_search_is_a_case_insensitive_substring_with_literal_wildcards(world):
    api = world.api("owner")
    for name in ("Invoices", "Old INVOICE", "Receipts", "100% done", "100 percent", "a_b", "axb",
                 "back\\slash", "backslash"):
        create(api, name)
    order = "&ordering=workflow_name"
    assert names(api.get("workflow/?search=invoice" + order)) == ["Invoices", "Old INVOICE"]
    assert names(api.get("workflow/?search=0%25" + order)) == ["100% done"]
    assert names(api.get("workflow/?search=a_" + order)) == ["a_b"]
    assert names(api.get("workflow/?search=k%5Cs" + order)) == ["back\\slash"]
    assert len(names(api.get("workflow/?search="))) == 9


def test_is_active_filter_accepts_any_case_and_rejects_other_values(world):
    api = world.api("owner")
    create(api, "On")
    off = create(api, "Off")
    api.patch(f"workflow/{off['id']}/", json={"is_active": False})
    assert names(api.get("workflow/?is_active=TRUE")) == ["On"]
    assert names(api.get("workflow/?is_active=fAlSe")) == ["Off"]
    for bad in ("yes", "1", ""):
        assert errors_of(api.get(f"workflow/?is_active={bad}")) == [
            {"code": "invalid", "detail": "Must be a valid boolean.", "attr": "is_active"}]


def test_filters_combine_with_and(world):
    api = world.api("owner")
    create(api, "Invoices A")
    off = create(api, "Invoices B")
    create(api, "Other")
    api.patch(f"workflow/{off['id']}/", json={"is_active": False})
    assert names(api.get("workflow/?search=invoices&is_active=true")) == ["Invoices A"]


def test_default_ordering_is_most_recently_modified_first(world):
    api = world.api("owner")
    first, _second, _third = (create(api, name) for name in ("First", "Second", "Third"))
    assert names(api.get("workflow/")) == ["Third", "Second", "First"]
    api.patch(f"workflow/{first['id']}/", json={"description": "touched"})
    assert names(api.get("workflow/")) == ["First", "Third", "Second"]


def test_ordering_by_each_allowed_field_and_several(world):
    api = world.api("owner")
    for name in ("b", "c", "a"):
        create(api, name)
    assert names(api.get("workflow/?ordering=workflow_name")) == ["a", "b", "c"]
    assert names(api.get("workflow/?ordering=-workflow_name")) == ["c", "b", "a"]
    assert names(api.get("workflow/?ordering=created_at")) == ["b", "c", "a"]
    assert names(api.get("workflow/?ordering=-created_at")) == ["a", "c", "b"]
    assert names(api.get("workflow/?ordering=modified_at,workflow_name")) == ["b", "c", "a"]


def test_ties_are_broken_by_primary_key(world):
    api = world.api("owner")
    for name in ("x1", "x2", "x3"):
        create(api, name)
    same = workflows.utcnow() - timedelta(days=1)
    db.session.execute(update(Workflow).values(modified_at=same))
    db.session.commit()
    rows = api.get("workflow/").json["results"]
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)


def test_unknown_ordering_field_is_rejected(world):
    assert errors_of(world.api("owner").get("workflow/?ordering=-id")) == [
        {"code": "invalid", "detail": "Unknown ordering field: id.", "attr": "ordering"}]


def test_list_is_paginated_with_links(world):
    api = world.api("owner")
    for index in range(3):
        create(api, f"W{index}")
    page = api.get("workflow/?ordering=workflow_name&page_size=2").json
    assert page["count"] == 3 and [r["workflow_name"] for r in page["results"]] == ["W0", "W1"]
    assert page["next"].endswith("/acme/workflow/?ordering=workflow_name&page_size=2&page=2")
    assert page["previous"] is None
    last = api.get("workflow/?ordering=workflow_name&page_size=2&page=2").json
    assert [r["workflow_name"] for r in last["results"]] == ["W2"] and last["next"] is None
    assert api.get("workflow/?page=3&page_size=2").json["errors"][0]["code"] == "invalid_page"
    assert errors_of(api.get("workflow/?page_size=0"))[0]["attr"] == "page_size"


def test_empty_list_is_an_empty_first_page(world):
    api = world.api("owner")
    assert api.get("workflow/").json == {"count": 0, "next": None, "previous": None, "results": []}
    assert api.get("workflow/?page=2").status_code == 404


def test_list_query_count_does_not_grow_with_the_page(world, app):
    api = world.api("owner")
    viewer = uid(world, "viewer")

    def statements_for_listing() -> int:
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert api.get("workflow/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    def add(count: int, offset: int) -> None:
        for index in range(offset, offset + count):
            body = create(api, f"N{index}", shared_users=[viewer])
            db.session.add(ToolInstance(workflow_id=uuid.UUID(body["id"]), tool_id="text_extractor", step=1))
        db.session.commit()

    add(2, 0)
    few = statements_for_listing()
    add(8, 2)
    assert statements_for_listing() == few


# --- Unique names ------------------------------------------------------------------------------------

UNIQUE = {"code": "unique", "detail": "A workflow with this name already exists.", "attr": "workflow_name"}


def test_duplicate_name_is_rejected_on_post_put_and_patch(world):
    api = world.api("owner")
    create(api, "Taken")
    other = create(api, "Free")
    assert errors_of(api.post("workflow/", json={"workflow_name": " Taken  "})) == [UNIQUE]
    assert errors_of(api.put(f"workflow/{other['id']}/", json={"workflow_name": "Taken"})) == [UNIQUE]
    assert errors_of(api.patch(f"workflow/{other['id']}/", json={"workflow_name": "Taken"})) == [UNIQUE]


def test_keeping_the_current_name_is_not_a_duplicate(world):
    api = world.api("owner")
    body = create(api, "Mine")
    assert api.put(f"workflow/{body['id']}/", json={"workflow_name": "Mine"}).status_code == 200
    assert api.patch(f"workflow/{body['id']}/", json={"workflow_name": " Mine "}).status_code == 200


def test_names_are_unique_per_org_and_case_sensitive(world):
    create(world.api("owner"), "Shared name")
    create(world.api("outsider", org_id="other"), "Shared name")
    create(world.api("owner"), "shared name")
    other_owner_name = create(world.api("member"), "Private of member")
    assert other_owner_name["workflow_name"] == "Private of member"
    assert errors_of(world.api("owner").post("workflow/", json={"workflow_name": "Private of member"})) == [
        UNIQUE]


def test_the_api_compares_names_exactly_while_the_dashboard_ignores_case(world):
    """The contract's names are case-sensitive: `invoices` next to `Invoices` is accepted by the API;
    an exact twin is the 400 `unique` envelope (the dashboard's stricter check is in tests/web)."""
    api = world.api("owner")
    create(api, "Invoices")
    twin = api.post("workflow/", json={"workflow_name": "invoices"})
    assert twin.status_code == 201 and twin.json["workflow_name"] == "invoices"
    assert api.post("workflow/", json={"workflow_name": "Invoices"}).json == {
        "type": "validation_error", "errors": [UNIQUE]}


def _requester(world, name: str) -> Requester:
    org = db.session.scalar(select(Organization).where(Organization.org_id == "acme"))
    return Requester(user=world.users[name], org=org, role="member")


@contextmanager
def rival_insert_before_flush(who: Requester, name: str):
    """Insert a same-named workflow on our connection just before our first flush."""
    session = db.session()
    done = []

    def rival_insert(sess, _context, _instances):
        if not done:
            done.append(True)
            sess.connection().execute(insert(Workflow).values(
                id=uuid.uuid4(), organization_id=who.org.id, workflow_name=name))

    event.listen(session, "before_flush", rival_insert)
    try:
        yield
    finally:
        event.remove(session, "before_flush", rival_insert)
    assert done, "the rival insert never ran"


def test_unique_index_firing_under_a_concurrent_insert_is_the_same_400(world):
    """A rival row appears between the name check and our insert, as under a concurrent POST."""
    who = _requester(world, "owner")
    with rival_insert_before_flush(who, "Race"), pytest.raises(errors.ValidationFailed) as raised:
        workflows.create(who, {"workflow_name": "Race"})
    assert raised.value.envelope()["errors"] == [UNIQUE]
    assert db.session.scalars(select(Workflow)).all() == []


def test_unique_index_firing_on_rename_is_the_same_400(world):
    body = create(world.api("owner"), "Before")
    who = _requester(world, "owner")
    workflow = db.session.get(Workflow, uuid.UUID(body["id"]))
    with rival_insert_before_flush(who, "After"), pytest.raises(errors.ValidationFailed) as raised:
        workflows.update(who, workflow, {"workflow_name": "After"})
    assert raised.value.envelope()["errors"] == [UNIQUE]
    assert db.session.get(Workflow, uuid.UUID(body["id"])).workflow_name == "Before"


# --- Field validation ------------------------------------------------------------------------------

def post_errors(world, **fields) -> list[dict]:
    return errors_of(world.api("owner").post("workflow/", json=fields))


def one(code: str, detail: str, attr: str) -> list[dict]:
    return [{"code": code, "detail": detail, "attr": attr}]


def test_workflow_name_type_rules(world):
    assert post_errors(world) == one("required", "This field is required.", "workflow_name")
    assert post_errors(world, workflow_name=None) == one("null", "This field may not be null.",
                                                         "workflow_name")
    assert post_errors(world, workflow_name="   ") == one("blank", "This field may not be blank.",
                                                          "workflow_name")
    assert post_errors(world, workflow_name=5) == one("invalid", "Not a valid string.", "workflow_name")
    assert post_errors(world, workflow_name="x" * 129) == one(
        "max_length", "Ensure this field has no more than 128 characters.", "workflow_name")
    assert create(world.api("owner"), " " + "x" * 128 + " ")["workflow_name"] == "x" * 128


HTML = "must not contain HTML or script tags."
URI = "must not contain dangerous URI protocols."
EVENT = "must not contain event handler attributes."
UNSAFE_CASES = [
    ("<script>alert(1)</script>", HTML), ("a</b", HTML), ("<!-- note", HTML), ("<IMG src=x>", HTML),
    ("go javascript:alert(1)", URI), ("VBScript:msgbox", URI), ("see DATA:text/html,abc", URI),
    ("onload=alert(1)", EVENT), ("x ONCLICK = y", EVENT), ("<b onload=x>", HTML),
]
SAFE_TEXTS = ["a < b", "1<2", "Input data: JSON", "month=3", "connection=ok", "javascript", "data:123"]


@pytest.mark.parametrize(("text", "message"), UNSAFE_CASES)
def test_unsafe_names_and_descriptions_are_rejected(world, text, message):
    assert post_errors(world, workflow_name=text) == one("unsafe_content", f"Workflow name {message}",
                                                         "workflow_name")
    assert post_errors(world, workflow_name="Fine", description=text) == one(
        "unsafe_content", f"Description {message}", "description")


def test_safe_lookalikes_are_accepted(world):
    api = world.api("owner")
    for index, text in enumerate(SAFE_TEXTS):
        assert create(api, f"{text} {index}", description=text)["description"] == text


def test_unsafe_content_is_also_checked_on_update(world):
    api = world.api("owner")
    body = create(api)
    assert errors_of(api.patch(f"workflow/{body['id']}/", json={"description": "onerror=x"})) == one(
        "unsafe_content", f"Description {EVENT}", "description")
    assert errors_of(api.put(f"workflow/{body['id']}/", json={"workflow_name": "<i>x"})) == one(
        "unsafe_content", f"Workflow name {HTML}", "workflow_name")


def test_description_rules(world):
    assert post_errors(world, workflow_name="D", description=None) == one(
        "null", "This field may not be null.", "description")
    assert post_errors(world, workflow_name="D", description=["x"]) == one(
        "invalid", "Not a valid string.", "description")
    assert post_errors(world, workflow_name="D", description="x" * 491) == one(
        "max_length", "Ensure this field has no more than 490 characters.", "description")
    assert create(world.api("owner"), "D", description="x" * 490)["description"] == "x" * 490


def test_status_rules(world):
    assert post_errors(world, workflow_name="S", status="x" * 17) == one(
        "max_length", "Ensure this field has no more than 16 characters.", "status")
    assert post_errors(world, workflow_name="S", status=None) == one(
        "null", "This field may not be null.", "status")
    assert create(world.api("owner"), "S", status="x" * 16)["status"] == "x" * 16


def test_deployment_type_rules(world):
    for bad, shown in (("FOO", "FOO"), ("etl", "etl"), (5, "5")):
        assert post_errors(world, workflow_name="T", deployment_type=bad) == one(
            "invalid_choice", f'"{shown}" is not a valid choice.', "deployment_type")
    assert post_errors(world, workflow_name="T", deployment_type=None) == one(
        "null", "This field may not be null.", "deployment_type")


def test_max_file_execution_count_rules(world):
    for bad in ("abc", 1.5, True, [1]):
        assert post_errors(world, workflow_name="M", max_file_execution_count=bad) == one(
            "invalid", "A valid integer is required.", "max_file_execution_count")
    assert post_errors(world, workflow_name="M", max_file_execution_count=0) == one(
        "min_value", "Ensure this value is greater than or equal to 1.", "max_file_execution_count")
    assert create(world.api("owner"), "M", max_file_execution_count=1)["max_file_execution_count"] == 1


def test_shared_to_org_and_is_active_must_be_booleans(world):
    for bad in ("yes", "true", 1):
        assert post_errors(world, workflow_name="B", shared_to_org=bad) == one(
            "invalid", "Must be a valid boolean.", "shared_to_org")
    api = world.api("owner")
    body = create(api, "B", is_active="not even a boolean")
    assert body["is_active"] is True
    assert errors_of(api.patch(f"workflow/{body['id']}/", json={"is_active": "yes"})) == one(
        "invalid", "Must be a valid boolean.", "is_active")


def test_settings_accept_any_json(world):
    api = world.api("owner")
    for index, value in enumerate([5, "text", [1, {"a": None}], None, {"nested": {"x": [True]}}]):
        body = create(api, f"J{index}", source_settings=value, destination_settings=value)
        assert body["source_settings"] == value and body["destination_settings"] == value


def test_shared_users_shape_rules(world):
    viewer = uid(world, "viewer")
    for bad in ("abc", {"id": viewer}, 5):
        assert post_errors(world, workflow_name="U", shared_users=bad) == one(
            "invalid", "Expected a list of items.", "shared_users")
    assert post_errors(world, workflow_name="U", shared_users=[viewer, "nope", 7]) == [
        {"code": "invalid", "detail": "Must be a valid UUID.", "attr": "shared_users.1"},
        {"code": "invalid", "detail": "Must be a valid UUID.", "attr": "shared_users.2"}]
    assert post_errors(world, workflow_name="U", shared_users=None) == one(
        "null", "This field may not be null.", "shared_users")


def test_shared_users_must_be_org_members_and_not_owners(world):
    outsider, stranger, owner = uid(world, "outsider"), str(uuid.uuid4()), uid(world, "owner")
    assert post_errors(world, workflow_name="U", shared_users=[outsider, stranger, outsider]) == [
        {"code": "invalid", "detail": f"User {outsider} is not a member of this organization.",
         "attr": "shared_users"},
        {"code": "invalid", "detail": f"User {stranger} is not a member of this organization.",
         "attr": "shared_users"}]
    assert post_errors(world, workflow_name="U", shared_users=[owner]) == one(
        "invalid", f"User {owner} is an owner of this workflow.", "shared_users")


def test_a_co_owner_cannot_be_made_a_viewer(world):
    api = world.api("owner")
    body = create(api)
    member = uid(world, "member")
    assert api.post(f"workflow/{body['id']}/owners/", json={"user_id": member}).status_code == 200
    assert errors_of(api.patch(f"workflow/{body['id']}/", json={"shared_users": [member]})) == one(
        "invalid", f"User {member} is an owner of this workflow.", "shared_users")


def test_errors_follow_the_field_table_order(world):
    response = world.api("owner").post("workflow/", json={
        "shared_users": "x", "shared_to_org": "x", "max_file_execution_count": 0, "deployment_type": "x",
        "status": "x" * 17, "description": "<b>", "workflow_name": ""})
    assert [e["attr"] for e in errors_of(response)] == [
        "workflow_name", "description", "status", "deployment_type", "max_file_execution_count",
        "shared_to_org", "shared_users"]


def test_database_rules_merge_into_the_table_order(world):
    api = world.api("owner")
    create(api, "Taken")
    body = create(api, "Mine")
    response = api.patch(f"workflow/{body['id']}/", json={
        "shared_users": [uid(world, "outsider")], "status": "x" * 17, "is_active": "no",
        "workflow_name": "Taken"})
    assert [(e["attr"], e["code"]) for e in errors_of(response)] == [
        ("workflow_name", "unique"), ("is_active", "invalid"), ("status", "max_length"),
        ("shared_users", "invalid")]


def test_a_failed_update_changes_nothing(world):
    api = world.api("owner")
    body = create(api, "Stable", description="before")
    api.patch(f"workflow/{body['id']}/", json={"description": "after", "status": "x" * 17})
    assert api.get(f"workflow/{body['id']}/").json["description"] == "before"


def test_body_must_be_a_json_object(world):
    api = world.api("owner")
    assert errors_of(api.post("workflow/", json=[1])) == [
        {"code": "invalid", "detail": "Expected a JSON object.", "attr": None}]
    assert errors_of(api.post("workflow/", data="{bad", content_type="application/json")) == [
        {"code": "parse_error", "detail": "JSON parse error.", "attr": None}]
    response = api.post("workflow/", data="workflow_name=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json["errors"][0] == {"code": "unsupported_media_type", "attr": None,
                                          "detail": 'Unsupported media type "text/plain" in request.'}


# --- Sharing ---------------------------------------------------------------------------------------

def test_shared_users_can_read_but_not_change(world):
    body = create(world.api("owner"), shared_users=[uid(world, "viewer")])
    viewer = world.api("viewer")
    assert viewer.get(f"workflow/{body['id']}/").json["is_owner"] is False
    assert viewer.patch(f"workflow/{body['id']}/", json={"description": "x"}).status_code == 403


def test_shared_to_org_makes_the_workflow_visible_to_every_member(world):
    api = world.api("owner")
    body = create(api)
    member = world.api("member")
    assert member.get(f"workflow/{body['id']}/").status_code == 404
    api.patch(f"workflow/{body['id']}/", json={"shared_to_org": True})
    assert member.get(f"workflow/{body['id']}/").json["is_owner"] is False
    assert member.patch(f"workflow/{body['id']}/", json={}).status_code == 403
