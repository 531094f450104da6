"""The execution page in Chromium at laptop and phone widths: every file's result and error, the result
viewer and downloads, finding the failed files, the maxFiles note, retrying one file, earlier log lines."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import insert

from tests.factories import add_tool, configure, make_connector, make_execution, make_workflow
from unstract.extensions import db
from unstract.models import LEVEL_ORDER, ExecutionLog
from unstract.models.base import utcnow

pytestmark = pytest.mark.browser

WIDTHS = {"laptop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
RULES = [{"name": "vendor", "pattern": r"Vendor: (.+)", "group": 1},
         {"name": "total", "pattern": r"Total: (\d+)", "group": 1, "type": "number", "required": True}]
HOSTILE = "<script>window.__xss = 1</script>"


def downloaded(page, link) -> str:
    with page.expect_download() as info:
        link.click()
    return open(info.value.path(), encoding="utf-8").read()


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


@pytest.mark.parametrize("width", list(WIDTHS))
def test_results_failures_and_limits_of_a_folder_run(world, page, login, storage_root, live_worker, width):
    page.set_viewport_size(WIDTHS[width])
    (storage_root / "in").mkdir()
    for name, body in (("a-ok.txt", f"Vendor: {HOSTILE}\nTotal: 5"), ("b-bad.txt", "no total"),
                       ("c-ok.txt", "Vendor: Acme\nTotal: 7"), ("d-bad.txt", "nothing"), ("e-ok.txt", "Total: 9")):
        (storage_root / "in" / name).write_text(body)
    connector = make_connector("acme", "Results inbox", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Results")
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"], maxFiles=4)
    configure(workflow, "DESTINATION", "FILESYSTEM", connector, outputFolder="out")
    add_tool(workflow, "field_extractor", rules=RULES)
    execution_id = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id),
                                                                      "timeout": 60}).json["execution_id"]
    login("owner@acme.test")
    page.goto(f"/executions/{execution_id}")
    assert page.locator("#live").get_attribute("data-status") == "COMPLETED"

    # The cap is said out loud: 4 of 5 files, 1 left for the next run.
    assert "up to 1 more matching file was left for the next run" in page.locator("#capped-note").inner_text()
    # A folder destination's results and errors are on the page, as text.
    page.locator("#files-table tr", has_text="a-ok.txt").locator("details.result summary").click()
    assert HOSTILE in page.locator("#files-table tr", has_text="a-ok.txt").locator("details.result pre").inner_text()
    assert "total" in page.locator("#files-table tr", has_text="b-bad.txt").locator(".file-error").inner_text()
    assert page.locator("#files-table tr[data-status=ERROR] .file-error").count() == 2
    assert page.evaluate("window.__xss") is None and page.locator("#files-table script").count() == 0
    assert fits_the_width(page)

    # Finding the failed files: a status filter, then a name filter, failed first; the URL keeps them.
    page.select_option("#file-status-filter", "ERROR")
    page.locator("#files-summary", has_text="2 files match these filters.").wait_for()
    assert "file_status=ERROR" in page.url
    assert page.locator("#files-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.status)") == \
        ["ERROR", "ERROR"]
    page.select_option("#file-status-filter", "")
    # One action at a time, as a person does: a click landing while htmx swaps the panel in (the filter
    # form is preserved by moving it out and back) can miss the checkbox.
    page.locator("#files-summary").wait_for(state="detached")
    page.check("#failed-first")
    page.locator("#files-summary", has_text="4 files match these filters.").wait_for()
    assert page.locator("#files-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.status)") == \
        ["ERROR", "ERROR", "COMPLETED", "COMPLETED"]
    page.fill("#file-name-filter", "D-BAD")
    page.locator("#files-summary", has_text="1 file matches these filters.").wait_for()
    assert "file_name=D-BAD" in page.url and "failed_first=1" in page.url
    page.fill("#file-name-filter", "")
    page.locator("#files-summary", has_text="4 files match these filters.").wait_for()
    page.uncheck("#failed-first")
    page.locator("#files-summary").wait_for(state="detached")

    # Downloads of the whole execution, in three formats.
    rows = json.loads(downloaded(page, page.get_by_role("link", name="JSON", exact=True)))
    assert [(row["file_name"], row["status"]) for row in rows] == [
        ("a-ok.txt", "COMPLETED"), ("b-bad.txt", "ERROR"), ("c-ok.txt", "COMPLETED"), ("d-bad.txt", "ERROR")]
    lines = downloaded(page, page.get_by_role("link", name="JSON Lines")).splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["result"]["vendor"] == HOSTILE
    table = list(csv.DictReader(io.StringIO(downloaded(page, page.get_by_role("link", name="CSV")))))
    assert [row["total"] for row in table] == ["5", "", "7", ""] and table[0]["vendor"] == HOSTILE

    # One file's result in the viewer: folded JSON, escaped, downloadable.
    page.locator("#files-table tr", has_text="a-ok.txt").get_by_role("link", name="View").click()
    page.wait_for_url(re.compile(r"/files/[0-9a-f-]{36}$"))
    viewer = page.locator("#json-viewer")
    assert viewer.locator(".json-string", has_text=HOSTILE).is_visible() and page.evaluate("window.__xss") is None
    assert fits_the_width(page)
    viewer.locator("summary").first.click()
    assert not viewer.locator(".json-key", has_text="vendor").is_visible()
    assert json.loads(downloaded(page, page.locator("#download-file-json"))) == {"vendor": HOSTILE, "total": 5}
    page.get_by_role("link", name="Back to the execution").click()

    # Retry one failed file from its row, after fixing it on disk.
    (storage_root / "in" / "d-bad.txt").write_text("Total: 11")
    page.locator("#files-table tr", has_text="d-bad.txt").get_by_role("button", name="Retry").click()
    page.wait_for_url(re.compile(r"/executions/[0-9a-f-]{36}$"))
    assert execution_id not in page.url
    page.locator('#live[data-status="COMPLETED"]').wait_for(timeout=30000)
    assert page.locator("#files-table tbody tr").count() == 1
    assert "d-bad.txt" in page.locator("#files-table tbody tr").inner_text()
    assert page.locator("#stat-ok").inner_text() == "1"


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_long_log_keeps_the_latest_lines_and_pages_back(world, page, login, width):
    page.set_viewport_size(WIDTHS[width])
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Chatty")
    execution = make_execution(workflow, status="EXECUTING", phase="PROCESSING")

    def add_lines(first: int, count: int) -> None:
        now = utcnow()
        db.session.execute(insert(ExecutionLog), [
            {"execution_id": execution.id, "event_time": now, "level": "INFO", "level_rank": LEVEL_ORDER["INFO"],
             "stage": "PROCESSING", "data": {"log": f"line {n}", "level": "INFO"}}
            for n in range(first, first + count)])
        db.session.commit()

    add_lines(0, 600)
    login("owner@acme.test")
    page.goto(f"/executions/{execution.id}")
    lines = page.locator("#log-lines li")
    assert lines.count() == 500 and lines.first.inner_text().endswith("line 100")
    assert page.locator("#log-earlier").is_visible()

    add_lines(600, 900)  # 1,500 lines: the page keeps the newest 1,000 while it follows the run
    page.locator("#log-lines li", has_text="line 1499").wait_for()
    page.wait_for_function("document.querySelectorAll('#log-lines li').length === 1000")
    assert lines.first.inner_text().endswith("line 500")
    assert "Older lines are not on the page." in page.locator("#log-earlier").inner_text()

    page.get_by_role("button", name="Show earlier lines").click()
    page.locator("#log-lines li", has_text=re.compile(r"\bline 0\s*$")).wait_for()
    assert lines.count() == 1500 and lines.first.inner_text().endswith("line 0")
    assert page.locator("#log-earlier").is_hidden()
    assert fits_the_width(page)
