"""POST workflow/{workflow_id}/file-histories/clear/: filters, guard, ids mode, dry run, batches."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event, func, select

from tests.factories import make_histories, make_history, make_workflow
from unstract.extensions import db
from unstract.models import FileHistory
from unstract.services import file_history

NO_FILTER = {"code": "no_filter", "attr": None, "detail": (
    "At least one filter (ids, status, execution_count_min, execution_count_max, or file_path) "
    "must be provided.")}


def remaining(workflow) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).where(FileHistory.workflow_id == workflow.id))


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


def test_clear_with_a_huge_bound_matches_nothing(workflow, api):
    make_history(workflow, execution_count=5)
    response = clear(api, workflow, {"execution_count_min": 10**30})
    assert response.json["deleted_count"] == 0 and remaining(workflow) == 1
