"""GET usage/ (docs/API.md, Usage): LLM usage per UTC day and per workflow, over visible workflows only."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.factories import make_execution, make_workflow


def day(text: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(text).replace(hour=hour, tzinfo=UTC)


def spend(workflow, when: datetime, prompt: int, completion: int, calls: int, cost: float | None):
    return make_execution(workflow, status="COMPLETED", created_at=when, prompt_tokens=prompt,
                          completion_tokens=completion, llm_calls=calls, cost_usd=cost)


def test_usage_is_summed_per_day_and_workflow(world):
    invoices = make_workflow(world.users["owner"], "acme", workflow_name="Invoices")
    contracts = make_workflow(world.users["owner"], "acme", workflow_name="Contracts")
    spend(invoices, day("2026-11-01", 23), 100, 10, 1, 0.5)
    spend(invoices, day("2026-11-02", 0), 200, 20, 2, None)
    spend(contracts, day("2026-11-02", 5), 1, 1, 1, 0.25)
    spend(contracts, day("2026-11-05"), 7, 7, 7, 7.0)  # after `to`
    response = world.api("owner").get("usage/?from=2026-11-01&to=2026-11-02")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["totals"] == {"prompt_tokens": 301, "completion_tokens": 31, "total_tokens": 332,
                              "llm_calls": 4, "cost_usd": 0.75}
    assert body["by_day"] == [
        {"date": "2026-11-01", "prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110,
         "llm_calls": 1, "cost_usd": 0.5},
        {"date": "2026-11-02", "prompt_tokens": 201, "completion_tokens": 21, "total_tokens": 222,
         "llm_calls": 3, "cost_usd": 0.25}]
    assert [(w["workflow_name"], w["llm_calls"], w["cost_usd"]) for w in body["by_workflow"]] == [
        ("Contracts", 1, 0.25), ("Invoices", 3, 0.5)]
    only = world.api("owner").get(f"usage/?from=2026-11-01&to=2026-11-30&workflow={contracts.id}").json
    assert only["totals"]["llm_calls"] == 8 and [w["workflow"] for w in only["by_workflow"]] == [str(contracts.id)]


def test_invisible_workflows_are_not_counted(world):
    private = make_workflow(world.users["owner"], "acme")
    spend(private, day("2026-11-01"), 5, 5, 1, None)
    member = world.api("member")
    assert member.get("usage/?from=2026-11-01&to=2026-11-01").json["totals"]["llm_calls"] == 0
    assert member.get(f"usage/?from=2026-11-01&to=2026-11-01&workflow={private.id}").status_code == 404
    assert world.api("admin").get("usage/?from=2026-11-01&to=2026-11-01").json["totals"]["llm_calls"] == 1


def test_bad_bounds_are_400(world):
    api = world.api("owner")
    response = api.get("usage/?from=2026-11-02&to=2026-11-01")
    assert response.status_code == 400 and response.json["errors"][0]["attr"] == "from"
    assert api.get("usage/?from=yesterday").status_code == 400
    assert api.get("usage/?from=0001-01-01&to=9999-12-31").json["totals"]["llm_calls"] == 0
    empty = api.get("usage/").json
    assert empty["totals"]["llm_calls"] == 0 and empty["by_day"] == [] and empty["by_workflow"] == []
