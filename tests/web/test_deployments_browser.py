"""The API deployments page in a real browser: create a deployment, read its endpoint and examples,
create a key (shown once) and deactivate the deployment."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.engine.harness import INVOICE_RULES
from tests.factories import add_tool, configure, make_workflow, organization

pytestmark = pytest.mark.browser


def test_owner_deploys_an_api_workflow_and_makes_a_key(page, login, world):
    workflow = make_workflow(world.users["owner"], organization("acme"), workflow_name="Invoices API")
    configure(workflow, "SOURCE", "API")
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    login("owner@acme.test")
    page.get_by_role("link", name="API deployments").click()
    page.fill("input[name=display_name]", "Invoices")
    page.fill("input[name=api_name]", "invoices")
    page.locator("select[name=workflow]").select_option(label="Invoices API")
    page.get_by_role("button", name="Create deployment").click()
    expect(page.get_by_test_id("endpoint-url")).to_have_text(
        page.url.split("/deployments")[0] + "/deployment/api/acme/invoices/")
    expect(page.locator("#curl-example")).to_contain_text("curl -X POST")
    expect(page.locator("#python-example")).to_contain_text("APIDeploymentsClient(api_url=")
    page.fill("#deployment-keys input[name=description]", "ci")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_test_id("new-deployment-key")).to_contain_text("ud_")
    page.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("inactive")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API deployments").click()
    expect(page.locator("#deployments-list")).to_contain_text("/deployment/api/acme/invoices/")
