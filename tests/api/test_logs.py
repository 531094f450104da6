"""GET workflow/execution/{id}/logs/."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import api_callers, make_execution, make_file_execution, make_log, make_workflow
from unstract.extensions import db

BASE = datetime(2026, 11, 28, 10, 15, 32, 431000, tzinfo=UTC)


@pytest.fixture
def execution(workflow):
    return make_execution(workflow)


def at(seconds: float) -> datetime:
    return BASE + timedelta(seconds=seconds)


def log_ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [row["id"] for row in response.json["results"]]


def logs(api, execution, query: str = ""):
    return api.get(f"workflow/execution/{execution.id}/logs/{query}")


def test_log_item_matches_the_contract(world, execution):
    row = make_log(execution, "Total files: 3, 2 successfully executed and 1 error(s).", stage="FINALIZE",
                   event_time=at(0))
    response = logs(world.api("viewer"), execution)
    assert response.status_code == 200
    assert response.json["results"] == [{
        "id": row.id, "wf_execution": str(execution.id), "file_execution": None,
        "event_time": "2026-11-28T10:15:32.431000Z",
        "data": {"timestamp": 1795860932.431, "type": "LOG", "level": "INFO", "stage": "FINALIZE",
                 "log": "Total files: 3, 2 successfully executed and 1 error(s).", "step": None,
                 "execution_id": str(execution.id), "file_execution_id": None, "organization_id": "acme"},
    }]


def test_data_is_returned_exactly_as_stored(world, execution):
    row = make_log(execution)
    row.data = {**row.data, "extra": {"nested": [1, 2]}, "log": "edited"}
    db.session.commit()
    data = logs(world.api("owner"), execution).json["results"][0]["data"]
    assert data["extra"] == {"nested": [1, 2]} and data["log"] == "edited"


def test_logs_are_ordered_by_event_time_then_id(world, execution):
    late = make_log(execution, "late", event_time=at(5))
    tie_first = make_log(execution, "tie 1", event_time=at(1))
    tie_second = make_log(execution, "tie 2", event_time=at(1))
    early = make_log(execution, "early", event_time=at(0))
    make_log(make_execution(execution.workflow), "another execution")
    response = logs(world.api("owner"), execution)
    assert log_ids(response) == [early.id, tie_first.id, tie_second.id, late.id]
    assert response.json["count"] == 4


def test_file_execution_id_selects_one_file_or_execution_level_rows(world, execution):
    first = make_file_execution(execution)
    second = make_file_execution(execution)
    general = make_log(execution, "execution level", event_time=at(0))
    of_first = make_log(execution, "first", file_execution=first, event_time=at(1))
    make_log(execution, "second", file_execution=second, event_time=at(2))
    api = world.api("owner")
    assert log_ids(logs(api, execution, f"?file_execution_id={first.id}")) == [of_first.id]
    assert log_ids(logs(api, execution, f"?file_execution_id={str(first.id).upper()}")) == [of_first.id]
    assert log_ids(logs(api, execution, "?file_execution_id=null")) == [general.id]
    assert log_ids(logs(api, execution, f"?file_execution_id={uuid.uuid4()}")) == []


@pytest.mark.parametrize("value", ["abc", "", "NULL", "None", "123"])
def test_file_execution_id_must_be_a_uuid_or_null(world, execution, value):
    response = logs(world.api("owner"), execution, f"?file_execution_id={value}")
    assert response.status_code == 400
    assert response.json["errors"] == [
        {"code": "invalid", "detail": "Must be a valid UUID or null.", "attr": "file_execution_id"}]


def test_log_level_is_a_minimum_severity(world, execution):
    rows = {level: make_log(execution, level, level=level, event_time=at(i))
            for i, level in enumerate(["DEBUG", "INFO", "WARN", "ERROR"])}
    api = world.api("owner")
    assert log_ids(logs(api, execution, "?log_level=WARN")) == [rows["WARN"].id, rows["ERROR"].id]
    assert log_ids(logs(api, execution, "?log_level=ERROR")) == [rows["ERROR"].id]
    assert len(log_ids(logs(api, execution, "?log_level=DEBUG"))) == 4
    assert len(log_ids(logs(api, execution, "?log_level=INFO"))) == 3


@pytest.mark.parametrize("value", ["warn", "WARNING", "", "CRITICAL"])
def test_log_level_must_be_an_exact_upper_case_level(world, execution, value):
    response = logs(world.api("owner"), execution, f"?log_level={value}")
    assert response.status_code == 400
    assert response.json["errors"] == [
        {"code": "invalid_choice", "detail": f'"{value}" is not a valid choice.', "attr": "log_level"}]


def test_after_returns_only_later_ids(world, execution):
    first = make_log(execution, "one", event_time=at(0))
    second = make_log(execution, "two", event_time=at(1))
    third = make_log(execution, "three", event_time=at(2))
    api = world.api("owner")
    assert log_ids(logs(api, execution, f"?after={first.id}")) == [second.id, third.id]
    assert log_ids(logs(api, execution, f"?after={third.id}")) == []
    assert len(log_ids(logs(api, execution, "?after=0"))) == 3
    assert log_ids(logs(api, execution, "?after=" + "9" * 30)) == []


@pytest.mark.parametrize(("value", "code", "detail"), [
    ("abc", "invalid", "A valid integer is required."),
    ("1.5", "invalid", "A valid integer is required."),
    ("", "invalid", "A valid integer is required."),
    ("-1", "min_value", "Ensure this value is greater than or equal to 0."),
])
def test_after_must_be_a_non_negative_integer(world, execution, value, code, detail):
    response = logs(world.api("owner"), execution, f"?after={value}")
    assert response.status_code == 400
    assert response.json["errors"] == [{"code": code, "detail": detail, "attr": "after"}]


def test_every_bad_parameter_is_reported_in_table_order(world, execution):
    response = logs(world.api("owner"), execution, "?after=-3&log_level=x&file_execution_id=y")
    assert [error["attr"] for error in response.json["errors"]] == ["file_execution_id", "log_level", "after"]


def test_filters_combine_and_count_follows_them(world, execution):
    fe = make_file_execution(execution)
    make_log(execution, "info", file_execution=fe, event_time=at(0))
    wanted = [make_log(execution, f"error {i}", level="ERROR", file_execution=fe, event_time=at(i + 1))
              for i in range(3)]
    make_log(execution, "execution error", level="ERROR", event_time=at(9))
    query = f"?file_execution_id={fe.id}&log_level=ERROR&after={wanted[0].id}&page_size=1"
    body = logs(world.api("owner"), execution, query).json
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [wanted[1].id]
    assert body["next"].endswith("&page_size=1&page=2")


def test_logs_of_unknown_execution_are_404(world):
    response = world.api("admin").get(f"workflow/execution/{uuid.uuid4()}/logs/")
    assert response.status_code == 404
    assert response.json["errors"][0]["code"] == "not_found"


def test_visibility_is_checked_before_query_validation(world, execution):
    response = logs(world.api("member"), execution, "?after=-1")
    assert response.status_code == 404


MATRIX = {
    "owner": 200, "viewer": 200, "org_shared": 200, "unrelated": 404, "admin": 200,
    "other_org": 404, "anonymous": 401, "read_key": 200,
}


def test_logs_need_a_visible_workflow(world, client, execution):
    shared = make_execution(make_workflow(world.users["owner"], "acme", shared_to_org=True))
    make_log(execution)
    make_log(shared)
    callers = api_callers(world, client)
    for name, expected in MATRIX.items():
        target = shared if name == "org_shared" else execution
        response = logs(callers[name], target)
        assert (name, response.status_code) == (name, expected)
        if expected == 200:
            assert response.json["count"] == 1
