"""Workflows in a real browser: create, configure source/destination and tools, run; the list; viewers; XSS."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import add_tool, configure, make_connector, make_execution, make_workflow
from tests.web.browser import screenshot
from tests.web.web_client import XSS_NAME
from unstract.services import accounts

pytestmark = pytest.mark.browser


@pytest.fixture
def folders(world, storage_root):
    """An inbox with one invoice and an outbox, each behind a local-storage connector of acme."""
    for name in ("inbox", "outbox"):
        (storage_root / name).mkdir()
    (storage_root / "inbox" / "inv-1.txt").write_text("Invoice No: INV-1\nTotal: $12.50\n")
    org_id = accounts.get_org("acme").id
    return {name: make_connector(org_id, name.capitalize(), "local_storage", {"path": str(storage_root / name)})
            for name in ("inbox", "outbox")}


def save_endpoint(page, slug: str, connection_type: str, connector: str, **settings) -> None:
    """Choose the connection type (htmx redraws the section), the connector and settings, then save."""
    section = page.locator(f"#{slug}")
    section.locator("select[name=connection_type]").select_option(connection_type)
    section.locator("select[name=connector_instance_id]").select_option(label=f"{connector} (local_storage)")
    for name, value in settings.items():
        section.locator(f"[name='configuration.{name}']").fill(value)
    section.get_by_role("button", name=f"Save {slug}").click()
    page.locator(f"#{slug} .notice-success").wait_for()


def test_owner_creates_configures_and_runs_a_workflow(page, login, folders):
    login("owner@acme.test")
    page.fill("#workflow_name", "Invoices")
    page.fill("#description", "Reads invoice numbers and totals from the inbox.")
    page.get_by_role("button", name="Create workflow").click()
    page.wait_for_url(re.compile(r"/workflows/[0-9a-f-]{36}$"))
    assert page.locator("h1").inner_text().startswith("Invoices")
    missing = page.locator("#run-missing li")
    expect(missing).to_have_text(["The source connection type is missing. Set up the source",
                                  "The destination connection type is missing. Set up the destination"])

    save_endpoint(page, "source", "FILESYSTEM", "Inbox")
    expect(missing).to_have_text(["The destination connection type is missing. Set up the destination"])
    save_endpoint(page, "destination", "FILESYSTEM", "Outbox", outputFolder="results")
    expect(page.locator("#run-missing")).to_have_count(0)
    assert page.locator("#source .badge").inner_text() == "File system"

    page.get_by_role("button", name="Add step").click()
    page.locator("#tools h3", has_text="Step 1: Text extractor").wait_for()
    add = page.locator("#tool-add")
    assert add.locator("select[name=tool_id]").input_value() == "field_extractor"
    add.locator("[name='metadata.rules.0.name']").fill("invoice_number")
    add.locator("[name='metadata.rules.0.pattern']").fill(r"Invoice No: (\S+)")
    add.locator("[name='metadata.rules.0.group']").fill("1")
    add.get_by_role("button", name="+ Add rule").click()
    page.locator("#tool-add [name='metadata.rules.1.name']").fill("total")
    page.locator("#tool-add [name='metadata.rules.1.pattern']").fill(r"Total: \$([0-9.]+)")
    page.locator("#tool-add [name='metadata.rules.1.group']").fill("1")
    page.locator("#tool-add [name='metadata.rules.1.type']").select_option("number")
    page.get_by_role("button", name="Add step").click()
    page.locator("#tools h3", has_text="Step 2: Field extractor").wait_for()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "workflow-detail")

    page.get_by_role("button", name="Run now").click()
    page.wait_for_url(re.compile(r"/executions/[0-9a-f-]{36}$"))
    assert re.search(r"/executions/[0-9a-f-]{36}$", page.url)


def test_list_searches_as_you_type_and_toggles_in_place(page, login, world):
    owner = world.users["owner"]
    for name, status in (("Invoices EU", "COMPLETED"), ("Invoices US", "ERROR"), ("Receipts", "EXECUTING"),
                         ("Contracts", None)):
        workflow = make_workflow(owner, "acme", workflow_name=name, description=f"{name} from the shared inbox")
        if status:
            make_execution(workflow, status=status)
    login("owner@acme.test")
    page.goto("/")
    screenshot(page, "workflows")
    page.locator("#wf-search-input").press_sequentially("invoices")
    page.wait_for_url(re.compile(r"search=invoices"))
    page.locator("#workflow-table a.wf-name", has_text="Receipts").wait_for(state="detached")
    assert page.locator("#workflow-table a.wf-name").count() == 2

    row = page.locator("tr", has_text="Invoices US")
    row.locator(".wf-switch").click()
    page.locator("tr", has_text="Invoices US").locator(".wf-switch-text", has_text="Inactive").wait_for()
    assert not page.locator("tr", has_text="Invoices US").locator("input[role=switch]").is_checked()


def test_viewer_sees_no_edit_controls_and_names_render_as_text(page, login, world, folders):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    workflow = make_workflow(world.users["owner"], "acme", workflow_name=XSS_NAME, viewers=[world.users["viewer"]])
    configure(workflow, "SOURCE", "FILESYSTEM", folders["inbox"])
    add_tool(workflow, "text_extractor")
    login("viewer@acme.test")
    page.goto("/")
    assert page.locator("a.wf-name").inner_text() == XSS_NAME
    assert page.locator("input[role=switch]").is_disabled()
    assert page.get_by_role("link", name=re.compile("^Edit")).count() == 0
    page.locator("a.wf-name").click()
    page.wait_for_url(f"**/workflows/{workflow.id}")
    assert page.locator("h1").inner_text().startswith(XSS_NAME)
    assert page.locator("form[action*='/endpoints/'], form[action*='/tools'], form[action*='/sharing']").count() == 0
    assert page.locator("select, textarea").count() == 0
    expect(page.get_by_role("button", name="Run now")).to_be_visible()
    assert dialogs == []


@pytest.mark.parametrize("width", [1280, 390])
def test_an_incomplete_destination_is_flagged_and_the_run_card_says_why(page, login, world, folders, width):
    page.set_viewport_size({"width": width, "height": 800})
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Incomplete")
    login("owner@acme.test")
    page.goto(f"/workflows/{workflow.id}")
    save_endpoint(page, "source", "FILESYSTEM", "Inbox")
    section = page.locator("#destination")
    section.locator("select[name=connection_type]").select_option("FILESYSTEM")
    section.locator("[name='configuration.outputFolder']").fill("results")
    section.get_by_role("button", name="Save destination").click()
    warning = page.locator("#destination-missing")
    expect(warning).to_contain_text("Saved, but incomplete: The destination connector is not configured.")
    expect(warning).to_be_visible()
    expect(page.locator("#run-missing li")).to_have_text(
        ["The destination connector is not configured. Set up the destination"])
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
