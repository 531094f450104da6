"""In Chromium at laptop (1280 px) and phone (390 px) widths: the amber "Completed with errors" badge, the runs
page's filters, and the file-history page without sideways scrolling."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import acme_workflow, make_execution, make_history
from tests.web.browser import screenshot

pytestmark = pytest.mark.browser

WIDTHS = {"laptop": 1280, "phone": 390}


def _page_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.fixture
def runs(world):
    invoices, receipts = acme_workflow(world), acme_workflow(world, "Receipts from the Berlin office")
    make_execution(invoices, status="COMPLETED", total_files=4, successful_files=4, execution_time=3.2)
    partial = make_execution(receipts, status="COMPLETED", total_files=120, successful_files=117, failed_files=3,
                             execution_time=84.0)
    make_execution(invoices, status="ERROR", execution_time=1.0)
    return {"partial": partial, "receipts": receipts}


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_runs_page_shows_failures_in_amber_and_filters(world, page, login, runs, width):
    page.set_viewport_size({"width": width, "height": 860})
    login("owner@acme.test")
    page.get_by_role("link", name="Runs").click()
    page.wait_for_url(re.compile(r"/executions$"))
    badge = page.locator("#execution-list .status-completed_with_errors")
    expect(badge).to_have_text(re.compile(r"Completed with errors\s*·?\s*3 of 120 failed"))
    clean = page.locator("#execution-list .status-completed")
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") != clean.evaluate(
        "e => getComputedStyle(e).backgroundColor")
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 244, 214)"  # amber
    assert _page_overflow(page) <= 0
    if width == WIDTHS["laptop"]:
        screenshot(page, "runs")

    page.locator("label.chip", has=page.locator("input[value=COMPLETED_WITH_ERRORS]")).click()
    page.wait_for_url(re.compile(r"status=COMPLETED_WITH_ERRORS"))
    expect(page.locator("#execution-list tbody tr")).to_have_count(1)
    page.select_option("#filter-workflow", str(runs["receipts"].id))
    page.wait_for_url(re.compile(r"workflow="))
    expect(page.locator("#execution-list tbody tr")).to_have_count(1)
    page.fill("#filter-from", "2001-01-01")
    page.fill("#filter-to", "2001-01-31")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#execution-list")).to_contain_text("No runs match these filters.")
    assert _page_overflow(page) <= 0


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_execution_page_and_workflow_list_badges(world, page, login, runs, width):
    page.set_viewport_size({"width": width, "height": 860})
    login("owner@acme.test")
    page.goto("/")
    row = page.locator("tr", has_text="Receipts from the Berlin office")
    expect(row.locator(".wf-last-run .status-completed_with_errors")).to_contain_text("Completed with errors")
    page.goto(f"/executions/{runs['partial'].id}")
    expect(page.locator("#exec-status")).to_contain_text("3 of 120 failed")
    assert page.locator("#exec-status .status-completed").count() == 0
    assert _page_overflow(page) <= 0


def test_file_history_fits_a_phone(world, page, login):
    workflow = acme_workflow(world)
    for n in range(6):
        make_history(workflow, file_path=f"inbox/2026/march/scans/supplier-invoice-{n:04d}-with-a-long-name.pdf",
                     status="ERROR" if n % 3 == 0 else "COMPLETED", execution_count=n + 1,
                     error="Cannot read PDF: the file is encrypted" if n % 3 == 0 else "")
    page.set_viewport_size({"width": 390, "height": 844})
    login("owner@acme.test")
    page.goto(f"/workflows/{workflow.id}/history")
    expect(page.locator("#history-results tbody tr")).to_have_count(6)
    assert _page_overflow(page) <= 0
    assert page.locator("#history-results .table-wrap").evaluate("e => e.scrollWidth - e.clientWidth") <= 0
    for selector in ("#filter-path", "#filter-min", "#filter-max", "#filter-ordering"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    screenshot(page, "file-history-phone")
    page.locator("#history-results tbody tr").first.get_by_role("link", name=re.compile("Delete")).click()
    expect(page.locator("#history-results .row-confirm")).to_have_count(1)
    assert _page_overflow(page) <= 0
    assert page.locator("#history-results .table-wrap").evaluate("e => e.scrollWidth - e.clientWidth") <= 0
