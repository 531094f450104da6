"""File history: list, one row, delete one, and who may do what (docs/EXECUTION.md, File history)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import api_callers, make_history, make_workflow
from tests.support import ApiClient
from unstract.extensions import db
from unstract.models import FileHistory

BASE = datetime(2026, 11, 28, 10, 15, 30, 123456, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return BASE + timedelta(seconds=seconds)


def row_ids(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [row["id"] for row in response.json["results"]]


def remaining(workflow) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).where(FileHistory.workflow_id == workflow.id))


# --- GET …/file-histories/ -----------------------------------------------------------------------

def test_history_representation_matches_the_contract(world, workflow):
    row = make_history(workflow, file_path="invoices/inv-1002.pdf", status="ERROR", execution_count=3,
                       error="field_extractor: required field 'total' not found.", created_at=at(0),
                       modified_at=at(1))
    response = world.api("viewer").get(f"workflow/{workflow.id}/file-histories/")
    assert response.json["results"] == [{
        "id": str(row.id), "workflow": str(workflow.id), "cache_key": row.cache_key,
        "provider_file_uuid": None, "file_path": "invoices/inv-1002.pdf", "status": "ERROR",
        "execution_count": 3, "error": "field_extractor: required field 'total' not found.", "result": None,
        "result_truncated": False,
        "metadata": {"file_name": "inv-1002.pdf", "file_size": 100, "mime_type": "text/plain",
                     "execution_id": None, "file_execution_id": None},
        "created_at": "2026-11-28T10:15:30.123456Z", "modified_at": "2026-11-28T10:15:31.123456Z",
        "max_execution_count": 3, "has_exceeded_limit": True,
    }]


def test_limit_comes_from_the_workflow_before_the_setting(world, workflow, make_app):
    make_history(workflow, execution_count=4)
    lenient = make_workflow(world.users["owner"], "acme", max_file_execution_count=5)
    make_history(lenient, execution_count=4)
    api = world.api("owner")
    assert api.get(f"workflow/{workflow.id}/file-histories/").json["results"][0]["has_exceeded_limit"]
    row = api.get(f"workflow/{lenient.id}/file-histories/").json["results"][0]
    assert (row["max_execution_count"], row["has_exceeded_limit"]) == (5, False)
    other = ApiClient(make_app(UNSTRACT_MAX_FILE_EXECUTION_COUNT=7).test_client(), "acme", api.token)
    row = other.get(f"workflow/{workflow.id}/file-histories/").json["results"][0]
    assert (row["max_execution_count"], row["has_exceeded_limit"]) == (7, False)


def test_history_list_is_newest_first_and_only_this_workflow(world, workflow, api):
    old = make_history(workflow, created_at=at(0))
    new = make_history(workflow, created_at=at(5))
    make_history(make_workflow(world.users["owner"], "acme"))
    assert row_ids(api.get(f"workflow/{workflow.id}/file-histories/")) == [str(new.id), str(old.id)]


@pytest.mark.parametrize(("ordering", "expected"), [
    ("modified_at", ["b", "a", "c"]),
    ("-execution_count", ["c", "b", "a"]),
    ("file_path", ["a", "b", "c"]),
    ("-file_path", ["c", "b", "a"]),
    ("created_at", ["a", "b", "c"]),
])
def test_history_list_orders_by_each_allowed_field(workflow, api, ordering, expected):
    rows = {
        "a": make_history(workflow, file_path="a.txt", execution_count=1,
                          created_at=at(0), modified_at=at(2)),
        "b": make_history(workflow, file_path="b.txt", execution_count=2,
                          created_at=at(1), modified_at=at(1)),
        "c": make_history(workflow, file_path="c.txt", execution_count=3,
                          created_at=at(2), modified_at=at(3)),
    }
    response = api.get(f"workflow/{workflow.id}/file-histories/?ordering={ordering}")
    assert row_ids(response) == [str(rows[key].id) for key in expected]


def test_history_list_rejects_unknown_ordering(workflow, api):
    response = api.get(f"workflow/{workflow.id}/file-histories/?ordering=cache_key")
    assert response.json["errors"] == [
        {"code": "invalid", "detail": "Unknown ordering field: cache_key.", "attr": "ordering"}]


def test_history_list_filters_by_status_and_count_bounds(workflow, api):
    rows = {count: make_history(workflow, status="ERROR" if count % 2 else "COMPLETED", execution_count=count,
                                created_at=at(count)) for count in (1, 2, 3, 4)}
    path = f"workflow/{workflow.id}/file-histories/?ordering=execution_count&"
    assert row_ids(api.get(path + "status=ERROR")) == [str(rows[1].id), str(rows[3].id)]
    assert row_ids(api.get(path + "status=ERROR,COMPLETED&execution_count_min=2&execution_count_max=3")) == [
        str(rows[2].id), str(rows[3].id)]
    assert row_ids(api.get(path + "execution_count_min=4")) == [str(rows[4].id)]
    assert row_ids(api.get(path + "execution_count_max=0")) == []


def test_history_list_file_path_is_a_case_insensitive_literal_prefix(workflow, api):
    invoice = make_history(workflow, file_path="Invoices/INV-1002.pdf")
    make_history(workflow, file_path="archive/invoices/inv-1.pdf")
    percent = make_history(workflow, file_path="100%_done/a.txt")
    make_history(workflow, file_path="100x_done/a.txt")
    make_history(workflow, file_path=None)
    path = f"workflow/{workflow.id}/file-histories/?file_path="
    assert row_ids(api.get(path + "invoices/inv")) == [str(invoice.id)]
    assert row_ids(api.get(path + "100%25_")) == [str(percent.id)]
    assert len(row_ids(api.get(path))) == 5


@pytest.mark.parametrize(("query", "code", "detail", "attr"), [
    ("status=error", "invalid_choice", '"error" is not a valid choice.', "status"),
    ("execution_count_min=abc", "invalid", "A valid integer is required.", "execution_count_min"),
    ("execution_count_min=1.5", "invalid", "A valid integer is required.", "execution_count_min"),
    ("execution_count_min=-1", "min_value", "Ensure this value is greater than or equal to 0.",
     "execution_count_min"),
    ("execution_count_max=x", "invalid", "A valid integer is required.", "execution_count_max"),
    ("execution_count_max=-5", "min_value", "Ensure this value is greater than or equal to 0.",
     "execution_count_max"),
    ("page=0", "min_value", "Ensure this value is greater than or equal to 1.", "page"),
])
def test_history_list_rejects_bad_filters(workflow, api, query, code, detail, attr):
    response = api.get(f"workflow/{workflow.id}/file-histories/?{query}")
    assert response.status_code == 400
    assert response.json["errors"] == [{"code": code, "detail": detail, "attr": attr}]


def test_history_list_treats_huge_count_bounds_as_unreachable(workflow, api):
    row = make_history(workflow, execution_count=2)
    path = f"workflow/{workflow.id}/file-histories/"
    assert row_ids(api.get(path + "?execution_count_min=" + "9" * 30)) == []
    assert row_ids(api.get(path + "?execution_count_max=" + "9" * 30)) == [str(row.id)]


def test_history_list_reports_all_bad_filters_in_table_order(workflow, api):
    response = api.get(f"workflow/{workflow.id}/file-histories/?execution_count_max=-1&status=X"
                       "&execution_count_min=y")
    assert [e["attr"] for e in response.json["errors"]] == [
        "status", "execution_count_min", "execution_count_max"]


# --- GET / DELETE …/file-histories/{id}/ ---------------------------------------------------------

def test_one_history_row_is_returned_only_under_its_workflow(world, workflow):
    row = make_history(workflow, status="ERROR", execution_count=3)
    other = make_workflow(world.users["owner"], "acme")
    api = world.api("viewer")
    body = api.get(f"workflow/{workflow.id}/file-histories/{row.id}/").json
    assert (body["id"], body["status"], body["has_exceeded_limit"]) == (str(row.id), "ERROR", True)
    owner = world.api("owner")
    assert owner.get(f"workflow/{other.id}/file-histories/{row.id}/").status_code == 404
    assert owner.get(f"workflow/{workflow.id}/file-histories/{uuid.uuid4()}/").status_code == 404
    assert owner.get(f"workflow/{workflow.id}/file-histories/nope/").status_code == 404


def test_deleting_a_row_answers_204_and_it_is_gone(workflow, api):
    row = make_history(workflow)
    keep = make_history(workflow)
    response = api.delete(f"workflow/{workflow.id}/file-histories/{row.id}/")
    assert response.status_code == 204 and response.data == b""
    assert api.get(f"workflow/{workflow.id}/file-histories/{row.id}/").status_code == 404
    assert api.delete(f"workflow/{workflow.id}/file-histories/{row.id}/").status_code == 404
    assert row_ids(api.get(f"workflow/{workflow.id}/file-histories/")) == [str(keep.id)]


def test_deleting_another_workflows_row_is_404_and_keeps_it(world, workflow, api):
    row = make_history(make_workflow(world.users["owner"], "acme"))
    assert api.delete(f"workflow/{workflow.id}/file-histories/{row.id}/").status_code == 404
    assert db.session.get(FileHistory, row.id) is not None


def test_viewer_cannot_delete_a_row_but_learns_of_missing_rows_first(world, workflow):
    row = make_history(workflow)
    viewer = world.api("viewer")
    assert viewer.delete(f"workflow/{workflow.id}/file-histories/{uuid.uuid4()}/").status_code == 404
    response = viewer.delete(f"workflow/{workflow.id}/file-histories/{row.id}/")
    assert response.status_code == 403
    assert response.json["errors"][0]["code"] == "permission_denied"
    assert remaining(workflow) == 1


READ_MATRIX = {
    "owner": 200, "viewer": 200, "org_shared": 200, "unrelated": 404, "admin": 200,
    "other_org": 404, "anonymous": 401, "read_key": 200,
}
WRITE_MATRIX = {
    "owner": 200, "viewer": 403, "org_shared": 403, "unrelated": 404, "admin": 200,
    "other_org": 404, "anonymous": 401, "read_key": 403,
}


def matrix_targets(world):
    private = make_workflow(world.users["owner"], "acme", viewers=[world.users["viewer"]])
    shared = make_workflow(world.users["owner"], "acme", shared_to_org=True)
    return lambda name: shared if name == "org_shared" else private


def test_history_reads_need_a_visible_workflow(world, client):
    target = matrix_targets(world)
    callers = api_callers(world, client)
    for name, expected in READ_MATRIX.items():
        workflow = target(name)
        row = make_history(workflow)
        listed = callers[name].get(f"workflow/{workflow.id}/file-histories/")
        one = callers[name].get(f"workflow/{workflow.id}/file-histories/{row.id}/")
        assert (name, listed.status_code, one.status_code) == (name, expected, expected)


def test_history_delete_and_clear_need_an_owner(world, client):
    target = matrix_targets(world)
    callers = api_callers(world, client)
    for name, expected in WRITE_MATRIX.items():
        workflow = target(name)
        row = make_history(workflow)
        deleted = callers[name].delete(f"workflow/{workflow.id}/file-histories/{row.id}/")
        assert (name, deleted.status_code) == (name, 204 if expected == 200 else expected)
        make_history(workflow)
        cleared = callers[name].post(f"workflow/{workflow.id}/file-histories/clear/",
                                     json={"status": "COMPLETED"})
        assert (name, cleared.status_code) == (name, expected)
    read_key = callers["read_key"].post(f"workflow/{target('owner').id}/file-histories/clear/", json={})
    assert read_key.json["errors"][0]["code"] == "api_key_permission"

