"""The shared layout: navigation, org switcher, flash area, CSRF on page forms, login redirects."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.web.web_client import htmx, submit_login, web_login
from unstract.services import accounts

PAGES = ["/overview", "/connectors", "/connectors/new", "/keys", "/executions"]
NAV = [("/overview", "Overview"), ("/", "Workflows"), ("/executions", "Runs"), ("/connectors", "Connectors"),
       ("/keys", "API keys"), ("/api/docs", "API docs")]


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_anonymous_visitors_to_login(client, world, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("path", PAGES)
def test_pages_do_not_accept_api_keys(client, world, path):
    key = accounts.create_api_key("acme", "owner@acme.test", "read")
    response = client.get(path, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_top_bar_links_every_section_and_marks_the_current_one(client, world):
    web_login(client, "owner@acme.test")
    html = client.get("/connectors").get_data(as_text=True)
    nav = html[html.index('<nav class="mainnav"'):html.index("</nav>")]
    for href, label in NAV:
        assert re.search(rf'<a href="{re.escape(href)}"[^>]*>{re.escape(label)}</a>', nav), label
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', nav) == ["/connectors"]
    assert "owner@acme.test" in html
    assert 'name="csrf-token"' in html
    assert client.get("/api/docs").status_code == 200  # the navigation's API docs link leads somewhere


def test_head_block_lets_a_page_add_its_stylesheet(client, world):
    web_login(client, "owner@acme.test")
    html = client.get("/overview").get_data(as_text=True)
    head = html[:html.index("</head>")]
    assert head.index("app.css") < head.index("css/overview.css")


def test_org_switcher_is_hidden_for_a_user_with_one_org(client, world):
    web_login(client, "owner@acme.test")
    html = client.get("/keys").get_data(as_text=True)
    assert 'action="/org/switch"' not in html
    assert '<span class="org-name" title="Organization">Acme</span>' in html


def test_org_switcher_lists_the_orgs_and_switches_the_current_one(client, world):
    accounts.add_user("owner@acme.test", "ignored-password", "other")
    token = web_login(client, "owner@acme.test")
    html = client.get("/keys").get_data(as_text=True)
    switcher = html[html.index('action="/org/switch"'):]
    switcher = switcher[:switcher.index("</form>")]
    assert re.findall(r'<option value="([^"]+)"', switcher) == ["acme", "other"]
    assert '<option value="acme" selected>' in switcher
    assert 'name="next" value="/keys"' in switcher
    response = client.post("/org/switch", data={"org_id": "other", "next": "/keys", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/keys"
    html = client.get("/keys").get_data(as_text=True)
    assert "<small>in Other</small>" in html
    assert '<option value="other" selected>' in html


def test_org_switch_to_an_org_the_user_is_not_in_is_404(client, world):
    token = web_login(client, "owner@acme.test")
    response = client.post("/org/switch", data={"org_id": "other", "csrf_token": token})
    assert response.status_code == 404
    assert "<small>in Acme</small>" in client.get("/keys").get_data(as_text=True)


def test_org_switch_never_redirects_outside_the_dashboard(client, world):
    accounts.add_user("owner@acme.test", "ignored-password", "other")
    token = web_login(client, "owner@acme.test")
    for target in ("https://evil.test/", "//evil.test/", "/workflow/123/"):
        response = client.post("/org/switch", data={"org_id": "other", "next": target, "csrf_token": token})
        assert response.headers["Location"] == "/", target


@pytest.mark.parametrize("path, data", [
    ("/org/switch", {"org_id": "acme"}),
    ("/keys", {"permission": "read"}),
    ("/connectors", {"connector_name": "x", "connector_id": "local_storage"}),
    ("/logout", {}),
])
def test_page_posts_without_a_csrf_token_are_refused(client, world, path, data):
    web_login(client, "owner@acme.test")
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert client.get("/keys").status_code == 200  # still logged in: the post did nothing


def test_page_post_with_a_wrong_csrf_token_is_refused(client, world):
    web_login(client, "owner@acme.test")
    response = client.post("/keys", data={"permission": "read", "csrf_token": "forged"})
    assert response.status_code == 400
    assert "uk_" not in response.get_data(as_text=True)


def test_login_failure_keeps_the_message_and_the_email(client, world):
    response, _ = submit_login(client, "owner@acme.test", "nope-nope")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Invalid email or password." in html
    assert 'value="owner@acme.test"' in html
    assert 'class="mainnav"' not in html


def test_error_pages_keep_the_layout(client, world):
    web_login(client, "owner@acme.test")
    response = client.get(f"/keys/{uuid.uuid4()}/revoke")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Error 404" in html and 'class="mainnav"' in html


def test_flash_messages_show_once(client, world):
    token = web_login(client, "owner@acme.test")
    _, key = _own_key(token, client)
    client.post(f"/keys/{key}/revoke", data={"csrf_token": token})
    html = client.get("/keys").get_data(as_text=True)
    assert re.search(r'class="flash flash-success"\s+role="status"', html)
    assert "revoked" in html
    assert "revoked" not in client.get("/keys").get_data(as_text=True)


def test_history_restore_gets_the_whole_page_not_a_fragment(client, world):
    web_login(client, "owner@acme.test")
    headers = htmx({"HX-History-Restore-Request": "true"})
    html = client.get("/connectors", headers=headers).get_data(as_text=True)
    assert html.lstrip().startswith("<!doctype html>")


def _own_key(token, client):
    html = client.post("/keys", data={"permission": "read", "csrf_token": token}).get_data(as_text=True)
    key_id = re.search(r'id="key-([0-9a-f-]{36})"', html).group(1)
    return html, key_id


@pytest.mark.browser
def test_choosing_an_org_in_the_switcher_switches_at_once(world, page, login):
    accounts.add_user("owner@acme.test", "ignored-password", "other")
    login("owner@acme.test")
    page.goto("/keys")
    assert page.locator("h1").inner_text().endswith("in Acme")
    page.select_option("#org-switch-select", "other")
    page.wait_for_function("document.querySelector('h1').innerText.endsWith('in Other')")
    assert page.url.endswith("/keys")


@pytest.mark.browser
def test_layout_fits_a_phone_screen(world, page, login):
    login("owner@acme.test")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/connectors")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    expect(page.get_by_role("link", name="API keys")).to_be_visible()


@pytest.mark.browser
def test_keyboard_users_can_skip_to_content(world, page, login):
    login("owner@acme.test")
    page.goto("/keys")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
