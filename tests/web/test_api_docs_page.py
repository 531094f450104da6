"""Swagger UI (/api/docs) renders the OpenAPI document from local files under the page's CSP."""

from __future__ import annotations

import pytest

from tests.web.browser import screenshot

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_every_section_without_other_hosts(page, live_server):
    requested_hosts, console_errors = set(), []
    page.on("request", lambda request: requested_hosts.add(request.url.split("/")[2]))
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.goto("/api/docs")
    page.wait_for_selector("text=Unstract Workflow API")
    page.wait_for_selector("text=/api/v1/unstract/{org_id}/workflow/execute/")
    assert requested_hosts == {live_server.split("/")[2]}
    assert not [e for e in console_errors if "Content Security Policy" in e]
    screenshot(page, "api-docs")
