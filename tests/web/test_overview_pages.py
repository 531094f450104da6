"""Overview page: per-day executions and files, failure rate, slowest workflows, as inline SVG."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.factories import make_execution, make_file_execution, make_workflow
from tests.web.browser import screenshot
from tests.web.web_client import htmx, web_login
from unstract.extensions import db
from unstract.models.base import utcnow
from unstract.services import accounts, overview
from unstract.web.overview_pages import format_seconds, nice_scale, rate_line, stacked_bars


def _ago(days: int, hour: int = 12) -> datetime:
    today = utcnow().date() - timedelta(days=days)
    return datetime(today.year, today.month, today.day, hour, tzinfo=UTC)


def _run(workflow, status, days=0, seconds=1.0, files=(), hour=12):
    execution = make_execution(workflow, status=status, execution_time=seconds, created_at=_ago(days, hour))
    for file_status in files:
        make_file_execution(execution, status=file_status, modified_at=_ago(days, hour))
    return execution


def _who(world, name="owner"):
    return accounts.default_requester(world.users[name])


# --- Service -------------------------------------------------------------------------------------

def test_executions_are_counted_per_utc_day_and_status(world):
    workflow = make_workflow(world.users["owner"], "acme")
    _run(workflow, "COMPLETED", 0, hour=0)
    _run(workflow, "COMPLETED", 0, hour=23)
    _run(workflow, "ERROR", 0)
    _run(workflow, "STOPPED", 3)
    data = overview.summary(_who(world))
    today, three_ago = data["executions"][-1], data["executions"][-4]
    assert len(data["executions"]) == 30 and today["day"] == utcnow().date()
    assert today["counts"]["COMPLETED"] == 2 and today["counts"]["ERROR"] == 1 and today["total"] == 3
    assert three_ago["counts"]["STOPPED"] == 1
    assert data["totals"]["executions"] == 4


def test_window_holds_the_last_thirty_days_only(world):
    workflow = make_workflow(world.users["owner"], "acme")
    _run(workflow, "COMPLETED", 29)
    _run(workflow, "COMPLETED", 30)
    data = overview.summary(_who(world))
    assert data["days"][0] == utcnow().date() - timedelta(days=29)
    assert data["executions"][0]["total"] == 1
    assert data["totals"]["executions"] == 1


def test_failure_rate_counts_errors_among_finished_runs(world):
    workflow = make_workflow(world.users["owner"], "acme")
    for status in ("COMPLETED", "COMPLETED", "STOPPED", "ERROR", "PENDING", "EXECUTING"):
        _run(workflow, status)
    totals = overview.summary(_who(world))["totals"]
    assert totals["terminal"] == 4 and totals["failure_rate"] == 0.25
    assert totals["running"] == 2


def test_failure_rate_counts_runs_that_completed_with_failed_files(world):
    """A run whose 8 files failed is COMPLETED in the API; the overview once called that a 0.0% failure rate."""
    workflow = make_workflow(world.users["owner"], "acme")
    make_execution(workflow, status="COMPLETED", total_files=10, successful_files=2, failed_files=8,
                   created_at=_ago(0))
    _run(workflow, "COMPLETED")
    data = overview.summary(_who(world))
    totals, today = data["totals"], data["executions"][-1]
    assert totals["by_status"]["COMPLETED"] == 1 and totals["by_status"]["COMPLETED_WITH_ERRORS"] == 1
    assert totals["failed"] == 1 and totals["failure_rate"] == 0.5
    assert today["failure_rate"] == 0.5 and today["total"] == 2


def test_overview_page_names_runs_completed_with_errors(client, world):
    workflow = make_workflow(world.users["owner"], "acme")
    make_execution(workflow, status="COMPLETED", total_files=10, failed_files=8, created_at=_ago(0))
    web_login(client, "owner@acme.test")
    html = client.get("/overview").get_data(as_text=True)
    assert "1 completed with errors" in html and "100.0%" in html
    assert "1 of 1 finished execution failed or had failed files" in html
    assert "fill-completed_with_errors" in html


def test_files_processed_count_finished_files_by_outcome(world):
    workflow = make_workflow(world.users["owner"], "acme")
    _run(workflow, "COMPLETED", 1, files=("COMPLETED", "COMPLETED", "ERROR", "PENDING"))
    data = overview.summary(_who(world))
    assert data["files"][-2]["counts"] == {"COMPLETED": 2, "ERROR": 1}
    assert data["totals"]["files"] == 3 and data["totals"]["files_failed"] == 1
    assert data["totals"]["file_failure_rate"] == pytest.approx(1 / 3)


def test_slowest_workflows_by_average_completed_duration(world):
    fast = make_workflow(world.users["owner"], "acme", workflow_name="Fast")
    slow = make_workflow(world.users["owner"], "acme", workflow_name="Slow")
    _run(fast, "COMPLETED", seconds=2)
    _run(slow, "COMPLETED", seconds=10)
    _run(slow, "COMPLETED", seconds=20)
    _run(fast, "ERROR", seconds=999)  # failed runs do not count
    slowest = overview.summary(_who(world))["slowest"]
    assert [(row["name"], row["avg_seconds"], row["runs"]) for row in slowest] == [("Slow", 15.0, 2), ("Fast", 2.0, 1)]


def test_only_visible_workflows_of_the_org_count(world):
    private = make_workflow(world.users["owner"], "acme")
    shared = make_workflow(world.users["owner"], "acme", shared_to_org=True)
    foreign = make_workflow(world.users["outsider"], "other")
    for workflow in (private, shared, foreign):
        _run(workflow, "COMPLETED")
    assert overview.summary(_who(world, "member"))["totals"]["executions"] == 1
    assert overview.summary(_who(world, "owner"))["totals"]["executions"] == 2
    assert overview.summary(_who(world, "admin"))["totals"]["executions"] == 2
    assert overview.summary(_who(world, "outsider"))["totals"]["executions"] == 1


def test_day_bucket_reads_sqlite_strings_and_postgres_timestamps():
    assert overview.as_date("2026-03-04") == date(2026, 3, 4)
    assert overview.as_date(datetime(2026, 3, 4, 0, 0)) == date(2026, 3, 4)
    assert overview.as_date(date(2026, 3, 4)) == date(2026, 3, 4)


# --- Chart geometry ------------------------------------------------------------------------------

@pytest.mark.parametrize("maximum, top, step", [
    (0, 4, 1), (1, 1, 1), (3, 3, 1), (7, 8, 2), (37, 40, 10), (990, 1000, 250),
])
def test_scales_are_round(maximum, top, step):
    assert nice_scale(maximum) == (top, step)


@pytest.mark.parametrize("seconds, text", [
    (0.25, "250 ms"), (12.44, "12.4 s"), (185, "3 min 05 s"), (3720, "1 h 02 min"),
])
def test_durations_read_like_people_say_them(seconds, text):
    assert format_seconds(seconds) == text


def test_stacked_bars_fill_the_plot_for_the_busiest_day():
    days = overview.window(date(2026, 3, 30), days=2)
    rows = [{"day": days[0], "counts": {"COMPLETED": 1, "ERROR": 1}, "total": 2},
            {"day": days[1], "counts": {"COMPLETED": 4, "ERROR": 0}, "total": 4}]
    chart = stacked_bars(rows, ("COMPLETED", "ERROR"))
    heights = {(bar["series"], bar["title"][:10]): bar["h"] for bar in chart["bars"]}
    full = chart["bottom"] - chart["top"]
    assert heights[("completed", "2026-03-30")] == pytest.approx(full)
    assert heights[("error", "2026-03-29")] == pytest.approx(full / 4)
    assert len(chart["bars"]) == 3  # no zero-height segments


def test_failure_line_breaks_on_days_without_finished_runs():
    days = overview.window(date(2026, 3, 30), days=4)
    rates = [0.5, None, 0.0, 1.0]
    chart = rate_line([{"day": d, "failure_rate": r} for d, r in zip(days, rates, strict=True)])
    assert len(chart["paths"]) == 2 and len(chart["points"]) == 3


# --- Page ----------------------------------------------------------------------------------------

def test_empty_org_gets_a_readable_empty_state(client, world):
    web_login(client, "owner@acme.test")
    html = client.get("/overview").get_data(as_text=True)
    assert "No executions in the last 30 days." in html
    assert "No completed runs in the last 30 days." in html
    assert "<svg" not in html


def test_page_draws_accessible_svg_charts(client, world):
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Invoices")
    _run(workflow, "COMPLETED", 0, seconds=4, files=("COMPLETED", "ERROR"))
    _run(workflow, "ERROR", 1)
    web_login(client, "owner@acme.test")
    html = client.get("/overview").get_data(as_text=True)
    for chart in ("chart-executions", "chart-files", "chart-failure", "chart-slowest"):
        labelled = rf'<svg class="chart" id="{chart}"[^>]*role="img"\s+aria-labelledby="{chart}-title {chart}-desc"'
        assert re.search(labelled, html), chart
        assert f'<title id="{chart}-title">' in html and f'<desc id="{chart}-desc">' in html
    assert f"<title>{utcnow().date().isoformat()} · Completed: 1</title>" in html
    assert "2 executions in 30 days: 1 completed, 0 completed with errors, 1 failed" in html
    assert "50.0%" in html
    assert "Invoices: 4.0 s on average over 1 completed run" in html
    assert "<script" not in html.split("</head>")[1]


def test_charts_fragment_for_htmx_and_full_page_without(client, world):
    web_login(client, "owner@acme.test")
    fragment = client.get("/overview", headers=htmx()).get_data(as_text=True)
    full = client.get("/overview").get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="overview-charts"') and "<html" not in fragment
    assert full.lstrip().startswith("<!doctype html>") and 'id="overview-charts"' in full


def test_workflow_names_in_charts_are_escaped(client, world):
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="<script>alert(1)</script>")
    _run(workflow, "COMPLETED", seconds=3)
    web_login(client, "owner@acme.test")
    html = client.get("/overview").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_overview_needs_login(client, world):
    assert client.get("/overview").headers["Location"].startswith("/login")


@pytest.mark.browser
def test_overview_renders_charts_without_network(world, page, login):
    owner = world.users["owner"]
    names = ["Invoice intake", "Receipts", "Contracts (OCR)", "Nightly archive"]
    workflows = [make_workflow(owner, "acme", workflow_name=name) for name in names]
    plan = {0: ("COMPLETED", "COMPLETED", "ERROR"), 1: ("COMPLETED",), 2: ("COMPLETED", "STOPPED"),
            4: ("COMPLETED", "COMPLETED", "COMPLETED"), 6: ("ERROR", "COMPLETED"), 9: ("COMPLETED",)}
    for days_ago in range(0, 28):
        for n, status in enumerate(plan.get(days_ago % 10, ("COMPLETED",))):
            workflow = workflows[(days_ago + n) % len(workflows)]
            files = ("COMPLETED",) * (1 + (days_ago + n) % 4) + (("ERROR",) if status == "ERROR" else ())
            execution = _run(workflow, status, days_ago, seconds=3 + 7 * ((days_ago + n) % len(workflows)),
                             files=files)
            if workflow is workflows[2]:  # the LLM workflow: its tokens and cost feed the usage chart
                execution.llm_calls = len(files)
                execution.prompt_tokens, execution.completion_tokens = 2400 * len(files), 310 * len(files)
                execution.cost_usd = round(execution.prompt_tokens * 0.15e-6 + execution.completion_tokens * 0.6e-6, 6)
    db.session.commit()
    _run(workflows[0], "EXECUTING", 0)
    from tests.web.test_upcoming_runs_pages import scheduled
    from unstract.services.cron import next_run_after

    for workflow, cron, zone in ((workflows[3], "30 2 * * *", "Europe/Berlin"), (workflows[0], "*/30 * * * *", "UTC")):
        scheduled(workflow, world, next_run_after(cron, zone, utcnow()), cron=cron, timezone=zone)
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    login("owner@acme.test")
    page.goto("/overview")
    assert page.locator("#chart-executions rect").count() > 28
    expect(page.get_by_role("img", name=re.compile("Executions per day"))).to_be_visible()
    page.get_by_role("link", name="Refresh").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#chart-slowest g").count() == 4
    expect(page.locator("#upcoming-runs tbody tr")).to_have_count(2)
    assert page.locator("#chart-tokens rect").count() > 10
    expect(page.locator("#usage-totals")).to_contain_text("tokens in")
    screenshot(page, "overview")
    base = page.url.split("/overview")[0]
    assert all(url.startswith(base) for url in requests)


def test_admins_see_the_retention_settings_and_table_sizes(app, world):
    from tests.factories import acme_workflow, make_execution, make_file_execution
    from tests.web.web_client import PageUser

    execution = make_execution(acme_workflow(world), status="COMPLETED")
    make_file_execution(execution, status="COMPLETED")
    from unstract.extensions import db

    if db.engine.dialect.name == "postgresql":  # sizes are the planner's estimates there: refresh them
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE execution, file_execution")
    html = PageUser(app, "admin@acme.test").get("/overview").get_data(as_text=True)
    assert 'id="retention"' in html and "Log rows are kept 30 days" in html and "ended executions 90 days" in html
    assert "<td>Executions</td><td class=\"num\">1</td>" in html
    assert "<td>File executions</td><td class=\"num\">1</td>" in html
    assert 'id="retention"' not in PageUser(app, "owner@acme.test").get("/overview").get_data(as_text=True)
