"""File history: list, one row, delete one, bulk clear (§1.15–§1.18, §4.6)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from tests.factories import api_callers, make_histories, make_history, make_workflow
from tests.support import ApiClient
from unstract.extensions import db
from unstract.models import FileHistory
from unstract.services import file_history

BASE = datetime(2026, 11, 28, 10, 15, 30, 123456, tzinfo=UTC)
NO_FILTER = {"code": "no_filter", "attr": None, "detail": (
    "At least one filter (ids, status, execution_count_min, execution_count_max, or file_path) "
    "must be provided.")}


@pytest.fixture
def workflow(world):
    return make_workflow(world.users["owner"], "acme", viewers=[world.users["viewer"]])


@pytest.fixture
def api(world):
    return world.api("owner")


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


def test_viewer_cannot_delete_a_row(world, workflow):
    row = make_history(workflow)
    response = world.api("viewer").delete(f"workflow/{workflow.id}/file-histories/{row.id}/")
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


# --- POST …/file-histories/clear/ ----------------------------------------------------------------

def clear(api, workflow, body=None, **kwargs):
    return api.post(f"workflow/{workflow.id}/file-histories/clear/", json=body, **kwargs)


@pytest.mark.parametrize("body", [
    None, {}, {"ids": [], "status": "", "file_path": ""},
    {"ids": None, "status": None, "execution_count_min": None, "execution_count_max": None,
     "file_path": None},
    {"status": [], "dry_run": True}, {"status": " , ", "unknown": 1},
])
def test_clear_without_a_usable_filter_is_refused(workflow, api, body):
    make_history(workflow)
    response = clear(api, workflow, body)
    assert response.status_code == 400
    assert response.json == {"type": "validation_error", "errors": [NO_FILTER]}
    assert remaining(workflow) == 1


def test_clear_deletes_matching_rows_and_says_how_many(workflow, api):
    make_history(workflow, status="ERROR", execution_count=3)
    make_history(workflow, status="ERROR", execution_count=1)
    make_history(workflow, status="COMPLETED", execution_count=3)
    response = clear(api, workflow, {"status": ["ERROR"], "execution_count_min": "3"})
    assert response.status_code == 200
    assert response.json == {"deleted_count": 1, "message": "1 file history records deleted"}
    assert remaining(workflow) == 2


def test_clear_accepts_status_as_comma_string_and_counts_as_numbers(workflow, api):
    make_history(workflow, status="ERROR", execution_count=2)
    make_history(workflow, status="STOPPED", execution_count=2)
    make_history(workflow, status="COMPLETED", execution_count=2)
    make_history(workflow, status="ERROR", execution_count=5)
    body = {"status": "ERROR, STOPPED", "execution_count_max": 2, "execution_count_min": 2.0}
    assert clear(api, workflow, body).json["deleted_count"] == 2
    assert remaining(workflow) == 2


def test_clear_zero_count_is_a_filter(workflow, api):
    make_histories(workflow, 3)
    assert clear(api, workflow, {"execution_count_min": 0}).json["deleted_count"] == 3


def test_clear_file_path_is_a_case_insensitive_prefix(workflow, api):
    make_history(workflow, file_path="Invoices/a.pdf")
    make_history(workflow, file_path="invoices_old/b.pdf")
    make_history(workflow, file_path=None)
    assert clear(api, workflow, {"file_path": "INVOICES/"}).json["deleted_count"] == 1
    assert remaining(workflow) == 2


def test_clear_dry_run_counts_without_deleting(workflow, api):
    make_histories(workflow, 4, status="ERROR", execution_count=3)
    make_history(workflow, status="COMPLETED")
    response = clear(api, workflow, {"status": "ERROR,STOPPED", "execution_count_min": 3, "dry_run": True})
    assert response.json == {"deleted_count": 4, "message": "4 file history records would be deleted"}
    assert remaining(workflow) == 5


def test_clear_by_ids_skips_unknown_ids_and_other_workflows_rows(world, workflow, api):
    mine = [make_history(workflow) for _ in range(3)]
    theirs = make_history(make_workflow(world.users["owner"], "acme"))
    body = {"ids": [str(mine[0].id), str(mine[1].id).upper(), str(theirs.id), str(uuid.uuid4())]}
    assert clear(api, workflow, body).json["deleted_count"] == 2
    assert remaining(workflow) == 1
    assert db.session.get(FileHistory, theirs.id) is not None


def test_clear_by_ids_neither_validates_nor_applies_other_filters(workflow, api):
    row = make_history(workflow, status="COMPLETED", file_path="a.txt")
    body = {"ids": [str(row.id)], "status": "BOGUS", "execution_count_min": -1, "file_path": "zzz"}
    response = clear(api, workflow, body)
    assert response.json == {"deleted_count": 1, "message": "1 file history records deleted"}


def test_clear_refuses_more_than_100_ids(workflow, api):
    response = clear(api, workflow, {"ids": [str(uuid.uuid4()) for _ in range(101)] + ["x"]})
    assert response.status_code == 400
    assert response.json["errors"] == [{
        "code": "max_length", "attr": "ids",
        "detail": "Cannot delete more than 100 items at once. Received 102 IDs."}]
    assert clear(api, workflow, {"ids": [str(uuid.uuid4()) for _ in range(100)]}).status_code == 200


@pytest.mark.parametrize(("body", "errors"), [
    ({"ids": [str(uuid.uuid4()), "nope", 7]}, [
        ("invalid", "Must be a valid UUID.", "ids.1"), ("invalid", "Must be a valid UUID.", "ids.2")]),
    ({"ids": "abc"}, [("invalid", "Expected a list of items.", "ids")]),
    ({"status": ["ERROR", "error"]}, [("invalid_choice", '"error" is not a valid choice.', "status")]),
    ({"status": "ERROR,DONE"}, [("invalid_choice", '"DONE" is not a valid choice.', "status")]),
    ({"status": 5}, [("invalid", "Not a valid string.", "status")]),
    ({"execution_count_min": "abc"}, [("invalid", "A valid integer is required.", "execution_count_min")]),
    ({"execution_count_min": True}, [("invalid", "A valid integer is required.", "execution_count_min")]),
    ({"execution_count_max": -1}, [
        ("min_value", "Ensure this value is greater than or equal to 0.", "execution_count_max")]),
    ({"file_path": 12}, [("invalid", "Not a valid string.", "file_path")]),
    ({"status": "ERROR", "dry_run": "yes"}, [("invalid", "Must be a valid boolean.", "dry_run")]),
    ({"dry_run": 1, "execution_count_max": "1.5", "status": "x"}, [
        ("invalid_choice", '"x" is not a valid choice.', "status"),
        ("invalid", "A valid integer is required.", "execution_count_max"),
        ("invalid", "Must be a valid boolean.", "dry_run")]),
])
def test_clear_rejects_bad_fields(workflow, api, body, errors):
    make_history(workflow)
    response = clear(api, workflow, body)
    assert response.status_code == 400
    assert response.json["errors"] == [{"code": c, "detail": d, "attr": a} for c, d, a in errors]
    assert remaining(workflow) == 1


def test_clear_body_must_be_a_json_object(workflow, api):
    assert clear(api, workflow, [1]).json["errors"][0]["detail"] == "Expected a JSON object."
    response = api.post(f"workflow/{workflow.id}/file-histories/clear/", data="{",
                        content_type="application/json")
    assert response.json["errors"][0] == {"code": "parse_error", "detail": "JSON parse error.", "attr": None}
    response = api.post(f"workflow/{workflow.id}/file-histories/clear/", data="x", content_type="text/plain")
    assert response.status_code == 415


def test_clear_checks_lookup_and_owner_before_the_body(world, workflow):
    hidden = make_workflow(world.users["admin"], "acme")
    owner = world.api("owner")
    assert clear(owner, hidden, {"ids": "bad"}).status_code == 404
    assert clear(world.api("viewer"), workflow, {"ids": "bad"}).status_code == 403


def test_clear_deletes_in_batches_of_500_each_committed(workflow, api):
    make_histories(workflow, 1200, status="ERROR")
    keep = make_history(workflow, status="COMPLETED")
    events: list = []

    def on_execute(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("DELETE FROM FILE_HISTORY"):
            events.append(("delete", cursor.rowcount))

    def on_commit(conn):
        events.append(("commit", None))

    event.listen(db.engine, "after_cursor_execute", on_execute)
    event.listen(db.engine, "commit", on_commit)
    try:
        response = clear(api, workflow, {"status": "ERROR"})
    finally:
        event.remove(db.engine, "after_cursor_execute", on_execute)
        event.remove(db.engine, "commit", on_commit)
    assert response.json == {"deleted_count": 1200, "message": "1200 file history records deleted"}
    positions = [i for i, (kind, _) in enumerate(events) if kind == "delete"]
    assert [events[i][1] for i in positions] == [500, 500, 200]
    assert all(events[i + 1][0] == "commit" for i in positions)
    assert remaining(workflow) == 1 and db.session.get(FileHistory, keep.id) is not None
    assert file_history.BATCH_SIZE == 500
