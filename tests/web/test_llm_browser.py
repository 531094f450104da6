"""The LLM dashboard in a real browser, at laptop (1280 px) and phone (390 px) widths: an admin adds an
adapter and tests it against the LLM test server; an owner tries an LLM extractor step on a scanned sample,
edits its fields in the form, runs them and saves them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import add_tool, make_workflow
from tests.llm.factories import KEY, make_adapter
from tests.tools.scans import scanned_pdf
from tests.web.browser import screenshot

pytestmark = pytest.mark.browser
NEW_KEY = "sk-browser-NEVER-shown-4321"
PHONE = {"width": 390, "height": 844}
SLOW = 60_000  # a connection test, OCR or an LLM run on a loaded 2-core machine (tool processes start per trial)


def _no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {page.viewport_size['width']} px"


def test_an_admin_adds_tests_and_edits_an_adapter(page, login, world, llm_server):
    login("admin@acme.test")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="LLM adapters").click()
    page.get_by_role("link", name="New adapter").first.click()
    page.fill("input[name=name]", "Local test model")
    page.fill("input[name='config.base_url']", llm_server.base_url)
    page.fill("input[name='config.api_key']", NEW_KEY)
    page.fill("input[name='config.model']", "test-model")
    page.fill("input[name='config.input_cost_per_million']", "0.15")
    page.get_by_role("button", name="Create adapter").click()
    expect(page.locator("#flashes")).to_contain_text("Adapter “Local test model” created.")
    row = page.locator("tr", has_text="Local test model")
    expect(row).to_contain_text("\u20264321")
    row.get_by_role("button", name="Test").click()
    expect(page.locator("[id^=test-] .notice-success")).to_contain_text("Connected: model test-model",
                                                                         timeout=SLOW)
    screenshot(page, "adapters")
    assert NEW_KEY not in page.content()
    row.get_by_role("link", name="Edit").click()
    expect(page.locator("input[name='config.api_key']")).to_have_value("")
    assert NEW_KEY not in page.content()
    page.fill("input[name='config.model']", "test-model-2")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("tr", has_text="Local test model")).to_contain_text("test-model-2")
    page.set_viewport_size(PHONE)
    _no_sideways_scroll(page)
    page.goto(page.url.split("/adapters")[0] + "/adapters/new")
    _no_sideways_scroll(page)


def test_deleting_an_adapter_in_use_explains_why_not(page, login, world):
    adapter = make_adapter("acme", "http://127.0.0.1:9/v1", name="Busy model")
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Contracts")
    add_tool(workflow, "llm_extractor", adapter_id=str(adapter.id),
             fields=[{"name": "party", "prompt": "The other party"}])
    login("admin@acme.test")
    page.goto("/adapters")
    page.locator("tr", has_text="Busy model").get_by_role("link", name="Delete").click()
    dialog = page.locator(f"#delete-{adapter.id}")
    expect(dialog).to_contain_text("is used by the workflow(s) Contracts")
    expect(dialog.get_by_role("button", name="Delete adapter")).to_have_count(0)


def test_an_owner_tries_the_llm_step_on_a_scanned_invoice_and_saves_the_fields(page, login, world, llm_server,
                                                                              tmp_path):
    adapter = make_adapter("acme", llm_server.base_url, name="Test LLM", input_cost_per_million=0.5,
                           output_cost_per_million=1.5)
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Invoice extraction")
    add_tool(workflow, "text_extractor", mode="auto")
    add_tool(workflow, "llm_extractor", adapter_id=str(adapter.id),
             fields=[{"name": "invoice_number", "prompt": "The invoice number", "type": "text"}])
    sample = tmp_path / "scanned-invoice.pdf"
    sample.write_bytes(scanned_pdf([["ACME Supplies Ltd.", "Invoice number: INV2048", "Total: 1250.50"]]))
    login("owner@acme.test")
    page.goto(f"/workflows/{workflow.id}")
    page.get_by_role("link", name="Edit fields & try").click()
    page.set_input_files("input[name=sample]", str(sample))
    page.get_by_role("button", name="Read the sample").click()
    expect(page.locator(".trial-page").first).to_contain_text("INV2048", timeout=SLOW)
    expect(page.locator(".trial-page h3").first).to_contain_text("OCR")
    page.get_by_role("button", name="Add field").click()
    page.fill("input[name='metadata.fields.1.name']", "total")
    page.locator("select[name='metadata.fields.1.type']").select_option("number")
    page.fill("textarea[name='metadata.fields.1.prompt']", "The invoice total")
    page.check("input[name='metadata.fields.1.required']")
    page.get_by_role("button", name="Run on the sample").click()
    result = page.locator(".trial-result")
    expect(result.locator("pre")).to_contain_text('"invoice_number": "INV2048"', timeout=SLOW)
    expect(result.locator("pre")).to_contain_text('"total": 1250.5')
    expect(result).to_contain_text("Tokens")
    expect(result).to_contain_text("$0.0")
    screenshot(page, "try-extraction")
    assert KEY not in page.content()
    page.get_by_role("button", name="Save fields to step 2").click()
    expect(page.locator("#main")).to_contain_text("Fields saved to step 2.")
    page.set_viewport_size(PHONE)
    _no_sideways_scroll(page)
