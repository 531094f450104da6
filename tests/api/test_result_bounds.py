"""Results in lists are bounded (docs/API.md, Large results): an item carries `result` up to 64 KiB of
compact JSON, else null with `result_truncated: true`; the one-row endpoint returns it whole."""

from __future__ import annotations

from tests.factories import make_execution, make_file_execution, make_history, make_workflow
from unstract.sizes import LIST_RESULT_BYTES, json_size

SMALL = {"total": 1250.5}
LARGE = {"text": "x" * LIST_RESULT_BYTES}  # 64 KiB of text, plus its key and braces


def test_the_bound_sits_between_the_two_results():
    assert json_size(SMALL) <= LIST_RESULT_BYTES < json_size(LARGE)


def test_file_execution_list_shows_small_results_and_flags_large_ones(world):
    execution = make_execution(make_workflow(world.users["owner"], "acme"), status="COMPLETED")
    small = make_file_execution(execution, status="COMPLETED", result=SMALL)
    large = make_file_execution(execution, status="COMPLETED", result=LARGE)
    failed = make_file_execution(execution, status="ERROR", execution_error="boom")
    items = world.api("owner").get(f"workflow/execution/{execution.id}/files/").json["results"]
    by_id = {item["id"]: item for item in items}
    assert (by_id[str(small.id)]["result"], by_id[str(small.id)]["result_truncated"]) == (SMALL, False)
    assert (by_id[str(large.id)]["result"], by_id[str(large.id)]["result_truncated"]) == (None, True)
    assert (by_id[str(failed.id)]["result"], by_id[str(failed.id)]["result_truncated"]) == (None, False)


def test_file_history_list_flags_large_results_and_the_row_returns_them_whole(world):
    workflow = make_workflow(world.users["owner"], "acme")
    small = make_history(workflow, result=SMALL)
    large = make_history(workflow, result=LARGE)
    api = world.api("owner")
    items = api.get(f"workflow/{workflow.id}/file-histories/").json["results"]
    by_id = {item["id"]: item for item in items}
    assert (by_id[str(small.id)]["result"], by_id[str(small.id)]["result_truncated"]) == (SMALL, False)
    assert (by_id[str(large.id)]["result"], by_id[str(large.id)]["result_truncated"]) == (None, True)
    one = api.get(f"workflow/{workflow.id}/file-histories/{large.id}/").json
    assert one["result"] == LARGE and one["result_truncated"] is False


def test_a_result_exactly_at_the_bound_is_listed(world):
    at_bound = {"t": "x" * (LIST_RESULT_BYTES - json_size({"t": ""}))}
    assert json_size(at_bound) == LIST_RESULT_BYTES
    workflow = make_workflow(world.users["owner"], "acme")
    make_history(workflow, result=at_bound)
    item = world.api("owner").get(f"workflow/{workflow.id}/file-histories/").json["results"][0]
    assert item["result"] == at_bound and item["result_truncated"] is False
