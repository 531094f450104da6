"""Retrying failed files from the execution page, in Chromium, with a real worker process."""

from __future__ import annotations

import re

import pytest

from tests.factories import add_tool, configure, make_connector, make_workflow

pytestmark = pytest.mark.browser

REQUIRED_TOTAL = [{"name": "total", "pattern": r"Total: (\d+)", "group": 1, "type": "number", "required": True}]


def test_a_file_fixed_on_disk_is_retried_from_the_button_and_the_runs_link_each_other(
        world, page, login, storage_root, live_worker):
    (storage_root / "in").mkdir()
    (storage_root / "in" / "good.txt").write_text("Total: 5")
    (storage_root / "in" / "bad.txt").write_text("no total yet")
    connector = make_connector("acme", "Retry inbox", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Retries")
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "field_extractor", rules=REQUIRED_TOTAL)
    execution_id = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id),
                                                                      "timeout": 60}).json["execution_id"]
    login("owner@acme.test")
    page.goto(f"/executions/{execution_id}")
    assert page.locator("#live").get_attribute("data-status") == "COMPLETED"
    expect_link = page.get_by_role("link", name="CSV")
    assert expect_link.get_attribute("href").endswith(f"/workflow/execution/{execution_id}/results/?format=csv")

    (storage_root / "in" / "bad.txt").write_text("Total: 7")
    page.get_by_role("button", name="Retry failed files").click()
    page.wait_for_url(re.compile(r"/executions/[0-9a-f-]{36}$"))
    assert execution_id not in page.url
    page.locator('#live[data-status="COMPLETED"]').wait_for(timeout=30000)
    assert page.locator("#stat-total").inner_text() == "1" and page.locator("#stat-ok").inner_text() == "1"
    table = page.locator("#files-table").inner_text()
    assert "in/bad.txt" in table and "good.txt" not in table
    page.locator("#retry-of-link").click()
    page.wait_for_url(re.compile(f"/executions/{execution_id}$"))
    assert "Retried by" in page.locator("#retry-links").inner_text()
