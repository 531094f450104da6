"""LLM usage on the dashboard: the numbers of an execution on its page, and tokens per day on the overview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import make_execution, make_workflow
from tests.web.web_client import html
from unstract.models.base import utcnow
from unstract.web.overview_pages import compact_number, token_rows


def _day(days_ago: int) -> datetime:
    day = utcnow().date() - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def test_the_execution_page_shows_calls_tokens_and_cost_only_when_an_llm_ran(owner, workflow):
    used = make_execution(workflow, status="COMPLETED", prompt_tokens=1200, completion_tokens=34, llm_calls=3,
                          cost_usd=0.01234)
    page = html(owner.get(f"/executions/{used.id}"))
    assert 'id="stat-llm-calls">3<' in page and 'id="stat-tokens"' in page and ">1,234<" in page
    assert 'id="stat-cost">$0.0123<' in page
    unpriced = make_execution(workflow, status="COMPLETED", prompt_tokens=10, completion_tokens=5, llm_calls=1)
    assert "unknown" in html(owner.get(f"/executions/{unpriced.id}")).split('id="stat-cost">')[1][:120]
    plain = make_execution(workflow, status="COMPLETED")
    assert "stat-tokens" not in html(owner.get(f"/executions/{plain.id}"))


def test_the_overview_charts_tokens_per_day_of_visible_workflows_only(owner, world, workflow):
    make_execution(workflow, status="COMPLETED", prompt_tokens=3000, completion_tokens=500, llm_calls=2,
                   cost_usd=0.5, created_at=_day(1))
    make_execution(workflow, status="COMPLETED", prompt_tokens=1000, completion_tokens=100, llm_calls=1,
                   cost_usd=0.25, created_at=_day(0))
    hidden = make_workflow(world.users["member"], "acme")
    make_execution(hidden, status="COMPLETED", prompt_tokens=99999, completion_tokens=1, llm_calls=9,
                   created_at=_day(0))
    page = html(owner.get("/overview"))
    assert 'id="chart-tokens"' in page and "4,600 tokens in 3 calls" in page and "cost $0.7500" in page
    assert "99,999" not in page
    assert page.count('class="fill-prompt"') == 2 and page.count('class="fill-completion"') == 2


def test_an_org_without_llm_calls_gets_a_sentence_instead_of_an_empty_chart(owner, world):
    page = html(owner.get("/overview"))
    assert "No LLM calls in the last 30 days." in page and 'id="chart-tokens"' not in page


def test_token_rows_and_axis_labels():
    rows = token_rows([{"day": _day(0).date(), "total_tokens": 7, "prompt_tokens": 5, "completion_tokens": 2}])
    assert rows[0]["counts"] == {"PROMPT": 5, "COMPLETION": 2} and rows[0]["total"] == 7
    assert [compact_number(v) for v in (950, 12000, 1500000)] == ["950", "12k", "1.5M"]
