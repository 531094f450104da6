"""Reading executions and file executions: a workflow's executions, one execution, its files."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import api_callers, make_execution, make_file_execution, make_workflow

BASE = datetime(2026, 11, 28, 10, 15, 30, 123456, tzinfo=UTC)


@pytest.fixture
def private(world):
    """A workflow of `owner` shared with `viewer` only."""
    return make_workflow(world.users["owner"], "acme", viewers=[world.users["viewer"]],
                         workflow_name="Invoices")


@pytest.fixture
def shared(world):
    return make_workflow(world.users["owner"], "acme", shared_to_org=True)


def at(seconds: float) -> datetime:
    return BASE + timedelta(seconds=seconds)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [row["id"] for row in response.json["results"]]


# --- GET workflow/{id}/execution/ ----------------------------------------------------------------

def test_execution_list_is_newest_first_by_default(world, private):
    old = make_execution(private, created_at=at(0))
    new = make_execution(private, created_at=at(10))
    make_execution(make_workflow(world.users["owner"], "acme"))
    response = world.api("owner").get(f"workflow/{private.id}/execution/")
    assert ids(response) == [str(new.id), str(old.id)]
    assert response.json["count"] == 2


def test_execution_list_orders_by_execution_time_both_ways(world, private):
    slow = make_execution(private, execution_time=9.5)
    fast = make_execution(private, execution_time=0.5)
    api = world.api("owner")
    assert ids(api.get(f"workflow/{private.id}/execution/?ordering=execution_time")) == [
        str(fast.id), str(slow.id)]
    assert ids(api.get(f"workflow/{private.id}/execution/?ordering=-execution_time")) == [
        str(slow.id), str(fast.id)]


def test_execution_list_rejects_unknown_ordering(world, private):
    response = world.api("owner").get(f"workflow/{private.id}/execution/?ordering=status")
    assert response.status_code == 400
    assert response.json["errors"] == [
        {"code": "invalid", "detail": "Unknown ordering field: status.", "attr": "ordering"}]


def test_execution_list_filters_by_comma_separated_statuses(world, private):
    error = make_execution(private, status="ERROR", created_at=at(1))
    stopped = make_execution(private, status="STOPPED", created_at=at(2))
    make_execution(private, status="COMPLETED", created_at=at(3))
    api = world.api("owner")
    assert ids(api.get(f"workflow/{private.id}/execution/?status=ERROR,STOPPED")) == [
        str(stopped.id), str(error.id)]
    assert ids(api.get(f"workflow/{private.id}/execution/?status= ERROR ,,")) == [str(error.id)]
    assert len(ids(api.get(f"workflow/{private.id}/execution/?status=,"))) == 3


def test_execution_list_rejects_unknown_or_lower_case_status(world, private):
    response = world.api("owner").get(f"workflow/{private.id}/execution/?status=ERROR,error")
    assert response.status_code == 400
    assert response.json == {"type": "validation_error", "errors": [
        {"code": "invalid_choice", "detail": '"error" is not a valid choice.', "attr": "status"}]}


def test_execution_list_is_paginated(world, private):
    for second in range(3):
        make_execution(private, created_at=at(second))
    body = world.api("owner").get(f"workflow/{private.id}/execution/?page_size=2&page=2").json
    assert body["count"] == 3 and len(body["results"]) == 1 and body["next"] is None


def test_execution_list_of_unknown_or_malformed_workflow_is_404(world):
    api = world.api("owner")
    assert api.get(f"workflow/{uuid.uuid4()}/execution/").status_code == 404
    assert api.get("workflow/not-a-uuid/execution/").status_code == 404


EXECUTION_LIST_MATRIX = {
    "owner": 200, "viewer": 403, "org_shared": 403, "unrelated": 404, "admin": 200,
    "other_org": 404, "anonymous": 401, "read_key": 200,
}


def test_execution_list_needs_an_owner(world, client, private, shared):
    make_execution(private)
    make_execution(shared)
    callers = api_callers(world, client)
    for name, expected in EXECUTION_LIST_MATRIX.items():
        workflow = shared if name == "org_shared" else private
        response = callers[name].get(f"workflow/{workflow.id}/execution/")
        assert (name, response.status_code) == (name, expected)
    denied = callers["viewer"].get(f"workflow/{private.id}/execution/").json
    assert denied["errors"][0]["code"] == "permission_denied"


# --- GET workflow/execution/{id}/ ----------------------------------------------------------------

def test_execution_representation_matches_the_contract(world, private):
    execution = make_execution(
        private, execution_mode="INSTANT", status="COMPLETED", total_files=3, successful_files=2,
        failed_files=1, attempts=1, execution_time=2.31449, use_file_history=True, total_steps=2,
        created_at=at(0), modified_at=at(2.314))
    response = world.api("viewer").get(f"workflow/execution/{execution.id}/")
    assert response.status_code == 200
    assert response.json == {
        "id": str(execution.id), "workflow": str(private.id), "workflow_name": "Invoices",
        "pipeline_id": None, "execution_mode": "INSTANT", "execution_method": "DIRECT",
        "execution_type": "COMPLETE", "execution_log_id": str(execution.id), "status": "COMPLETED",
        "total_files": 3, "successful_files": 2, "failed_files": 1, "error_message": "", "attempts": 1,
        "execution_time": 2.314, "use_file_history": True, "awaiting_action": False, "next_step": None,
        "total_steps": 2, "retry_of": None, "created_at": "2026-11-28T10:15:30.123456Z",
        "modified_at": "2026-11-28T10:15:32.437456Z",
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "llm_calls": 0, "cost_usd": None},
    }


def test_paused_step_execution_shows_its_next_step(world, private):
    execution = make_execution(private, execution_type="STEP", status="EXECUTING", awaiting_action=True,
                               next_step=2, total_steps=3)
    body = world.api("owner").get(f"workflow/execution/{execution.id}/").json
    assert (body["execution_type"], body["awaiting_action"], body["next_step"], body["total_steps"]) == (
        "STEP", True, 2, 3)
    assert body["execution_time"] == 0.0


def test_unknown_or_foreign_execution_is_404(world):
    foreign = make_execution(make_workflow(world.users["outsider"], "other", shared_to_org=True))
    api = world.api("admin")
    assert api.get(f"workflow/execution/{uuid.uuid4()}/").status_code == 404
    assert api.get(f"workflow/execution/{foreign.id}/").status_code == 404
    assert api.get("workflow/execution/12345/").status_code == 404
    own_org = world.api("outsider", org_id="other").get(f"workflow/execution/{foreign.id}/")
    assert own_org.status_code == 200


VISIBLE_MATRIX = {
    "owner": 200, "viewer": 200, "org_shared": 200, "unrelated": 404, "admin": 200,
    "other_org": 404, "anonymous": 401, "read_key": 200,
}


@pytest.mark.parametrize("suffix", ["", "files/"])
def test_execution_detail_and_files_need_a_visible_workflow(world, client, private, shared, suffix):
    executions = {"private": make_execution(private), "shared": make_execution(shared)}
    callers = api_callers(world, client)
    for name, expected in VISIBLE_MATRIX.items():
        execution = executions["shared" if name == "org_shared" else "private"]
        response = callers[name].get(f"workflow/execution/{execution.id}/{suffix}")
        assert (name, response.status_code) == (name, expected)


def test_execution_routes_answer_without_trailing_slash_and_refuse_delete(world, private):
    execution = make_execution(private)
    api = world.api("owner")
    assert api.get(f"workflow/execution/{execution.id}").status_code == 200
    refused = api.delete(f"workflow/execution/{execution.id}/")
    assert refused.status_code == 405 and "GET" in refused.headers["Allow"]


# --- GET workflow/execution/{id}/files/ ----------------------------------------------------------

def test_file_execution_items_match_the_contract(world, private):
    execution = make_execution(private)
    fe = make_file_execution(execution, file_name="inv-1001.pdf", file_path="invoices/inv-1001.pdf",
                             file_size=20480, mime_type="application/pdf", status="COMPLETED",
                             execution_time=0.412, result={"total": 1250.5}, attempts=1,
                             created_at=at(0), modified_at=at(1))
    response = world.api("viewer").get(f"workflow/execution/{execution.id}/files/")
    assert response.status_code == 200
    assert response.json["results"] == [{
        "id": str(fe.id), "file_number": 1, "file_name": "inv-1001.pdf",
        "file_path": "invoices/inv-1001.pdf", "file_size": 20480, "file_hash": fe.file_hash,
        "mime_type": "application/pdf", "status": "COMPLETED", "execution_time": 0.412,
        "execution_error": None, "result": {"total": 1250.5}, "result_truncated": False, "attempts": 1,
        "created_at": "2026-11-28T10:15:30.123456Z", "modified_at": "2026-11-28T10:15:31.123456Z",
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "llm_calls": 0, "cost_usd": None},
    }]


def test_file_executions_default_to_file_number_order_and_exclude_other_executions(world, private):
    execution = make_execution(private)
    second = make_file_execution(execution, file_number=2, file_name="a.txt")
    first = make_file_execution(execution, file_number=1, file_name="b.txt")
    make_file_execution(make_execution(private))
    response = world.api("owner").get(f"workflow/execution/{execution.id}/files/")
    assert ids(response) == [str(first.id), str(second.id)]


def test_file_executions_order_by_name_and_execution_time(world, private):
    execution = make_execution(private)
    b = make_file_execution(execution, file_name="b.txt", execution_time=0.1)
    a = make_file_execution(execution, file_name="a.txt", execution_time=0.9)
    api = world.api("owner")
    path = f"workflow/execution/{execution.id}/files/"
    assert ids(api.get(path + "?ordering=file_name")) == [str(a.id), str(b.id)]
    assert ids(api.get(path + "?ordering=-execution_time")) == [str(a.id), str(b.id)]
    assert ids(api.get(path + "?ordering=-file_number")) == [str(a.id), str(b.id)]


def test_file_executions_filter_by_status_and_reject_bad_input(world, private):
    execution = make_execution(private)
    failed = make_file_execution(execution, status="ERROR")
    make_file_execution(execution, status="COMPLETED")
    api = world.api("owner")
    path = f"workflow/execution/{execution.id}/files/"
    assert ids(api.get(path + "?status=ERROR,PENDING")) == [str(failed.id)]
    bad = api.get(path + "?status=FAILED")
    assert bad.status_code == 400
    assert bad.json["errors"] == [
        {"code": "invalid_choice", "detail": '"FAILED" is not a valid choice.', "attr": "status"}]
    bad = api.get(path + "?ordering=created_at")
    assert bad.json["errors"] == [
        {"code": "invalid", "detail": "Unknown ordering field: created_at.", "attr": "ordering"}]
