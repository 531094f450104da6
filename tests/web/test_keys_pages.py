"""API keys page: list own keys, create (plaintext shown once), revoke; fragments for htmx."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.web.browser import screenshot
from tests.web.web_client import htmx, web_login
from unstract.extensions import db
from unstract.models import ApiKey
from unstract.services import accounts

KEY = re.compile(r"uk_[A-Za-z0-9_-]{43}")


def _create(client, token, permission="read_write", headers=None):
    return client.post("/keys", data={"permission": permission, "csrf_token": token}, headers=headers or {})


def _api_status(client, key: str, method: str = "GET") -> int:
    return client.open("/api/v1/unstract/acme/workflow/", method=method, json={},
                       headers={"Authorization": f"Bearer {key}"}).status_code


def test_page_lists_only_the_users_own_keys_in_the_current_org(client, world):
    mine = accounts.create_api_key("acme", "owner@acme.test", "read")
    theirs = accounts.create_api_key("acme", "member@acme.test", "full_access")
    accounts.add_user("owner@acme.test", "ignored-password", "other")
    elsewhere = accounts.create_api_key("other", "owner@acme.test", "read")
    web_login(client, "owner@acme.test")
    html = client.get("/keys").get_data(as_text=True)
    assert f"<code>{mine[:8]}…</code>" in html
    assert theirs[:8] not in html and elsewhere[:8] not in html
    assert "Your keys <small>(1)</small>" in html
    assert mine not in html  # never the whole key


def test_list_shows_permission_created_and_last_used(client, world):
    key = accounts.create_api_key("acme", "owner@acme.test", "full_access")
    web_login(client, "owner@acme.test")
    assert "never" in client.get("/keys").get_data(as_text=True)
    assert _api_status(client, key) == 200
    row = client.get("/keys").get_data(as_text=True).split(f"{key[:8]}…")[1].split("</tr>")[0]
    assert "Full access" in row
    assert row.count("<time datetime=") == 2


def test_list_fragment_for_htmx_and_full_page_without(client, world):
    web_login(client, "owner@acme.test")
    full = client.get("/keys").get_data(as_text=True)
    fragment = client.get("/keys", headers=htmx()).get_data(as_text=True)
    assert full.lstrip().startswith("<!doctype html>") and 'id="keys-list"' in full
    assert fragment.lstrip().startswith('<section id="keys-list"')
    assert "<html" not in fragment and "Create a key" not in fragment


def test_empty_list_says_so(client, world):
    web_login(client, "member@acme.test")
    assert "You have no API keys in this organization yet." in client.get("/keys").get_data(as_text=True)


@pytest.mark.parametrize("permission, allowed, refused", [
    ("read", "GET", "POST"), ("read_write", "POST", "DELETE"), ("full_access", "DELETE", None),
])
def test_created_key_is_shown_once_and_works_with_its_tier(client, world, permission, allowed, refused):
    token = web_login(client, "owner@acme.test")
    response = _create(client, token, permission)
    html = response.get_data(as_text=True)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    plaintext = KEY.search(html).group(0)
    assert "it will not be shown again" in html
    assert _api_status(client, plaintext, "GET") == 200
    assert _api_status(client, plaintext, allowed) != 403
    if refused:
        assert _api_status(client, plaintext, refused) == 403
    stored = db.session.scalar(select(ApiKey).where(ApiKey.key_prefix == plaintext[:8]))
    assert stored.permission == permission and stored.key_hash != plaintext
    assert plaintext not in client.get("/keys").get_data(as_text=True)


def test_create_with_htmx_returns_the_panel_and_the_new_list_out_of_band(client, world):
    token = web_login(client, "owner@acme.test")
    response = _create(client, token, "read", headers=htmx())
    html = response.get_data(as_text=True)
    assert response.status_code == 201
    assert html.lstrip().startswith('<section id="key-create"')
    assert KEY.search(html)
    assert '<section id="keys-list" aria-labelledby="keys-list-title" hx-swap-oob="true">' in html
    assert "<html" not in html


def test_create_with_an_unknown_permission_shows_the_error_next_to_the_choice(client, world):
    token = web_login(client, "owner@acme.test")
    for headers in ({}, htmx()):
        response = _create(client, token, "admin", headers=headers)
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert '<p class="field-error" id="permission-error">&#34;admin&#34; is not a valid choice.</p>' in html
        assert not KEY.search(html)
    assert db.session.scalar(select(ApiKey)) is None


def test_create_without_a_permission_is_refused(client, world):
    token = web_login(client, "owner@acme.test")
    response = client.post("/keys", data={"csrf_token": token})
    assert response.status_code == 400
    assert "is not a valid choice." in response.get_data(as_text=True)


def test_revoke_deletes_the_key_and_the_api_refuses_it(client, world):
    key = accounts.create_api_key("acme", "owner@acme.test", "read")
    key_id = db.session.scalar(select(ApiKey.id))
    token = web_login(client, "owner@acme.test")
    response = client.post(f"/keys/{key_id}/revoke", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/keys"
    html = client.get("/keys").get_data(as_text=True)
    assert f"API key {key[:8]}… revoked." in html
    assert _api_status(client, key) == 401


def test_revoke_confirmation_page_names_the_key(client, world):
    key = accounts.create_api_key("acme", "owner@acme.test", "read")
    key_id = db.session.scalar(select(ApiKey.id))
    token = web_login(client, "owner@acme.test")
    html = client.get(f"/keys/{key_id}/revoke").get_data(as_text=True)
    assert f"Revoke key {key[:8]}…?" in html
    assert f'action="/keys/{key_id}/revoke"' in html and token


@pytest.mark.parametrize("who", ["member", "admin", "outsider"])
def test_nobody_else_can_see_or_revoke_a_users_key(client, world, who):
    key = accounts.create_api_key("acme", "owner@acme.test", "read")
    key_id = db.session.scalar(select(ApiKey.id))
    token = web_login(client, world.people[who][0])
    assert client.get(f"/keys/{key_id}/revoke").status_code == 404
    assert client.post(f"/keys/{key_id}/revoke", data={"csrf_token": token}).status_code == 404
    assert _api_status(client, key) == 200


def test_revoke_of_an_unknown_or_malformed_id_is_404(client, world):
    token = web_login(client, "owner@acme.test")
    assert client.post(f"/keys/{uuid.uuid4()}/revoke", data={"csrf_token": token}).status_code == 404
    assert client.post("/keys/not-a-uuid/revoke", data={"csrf_token": token}).status_code == 404


def test_revoke_without_csrf_token_is_refused(client, world):
    key = accounts.create_api_key("acme", "owner@acme.test", "read")
    key_id = db.session.scalar(select(ApiKey.id))
    web_login(client, "owner@acme.test")
    assert client.post(f"/keys/{key_id}/revoke").status_code == 400
    assert _api_status(client, key) == 200


def test_anonymous_cannot_create_or_revoke(client, world):
    assert client.post("/keys", data={"permission": "read"}).status_code in (302, 400)
    assert client.get(f"/keys/{uuid.uuid4()}/revoke").status_code == 302


@pytest.mark.browser
def test_new_key_is_shown_once_then_gone_after_reload(world, page, login):
    login("owner@acme.test")
    page.goto("/keys")
    page.get_by_label("Name (optional)").fill("Nightly import")
    page.get_by_label("Read & write").check()
    page.get_by_role("button", name="Create key").click()
    code = page.get_by_test_id("new-key")
    code.wait_for()
    plaintext = code.inner_text()
    assert KEY.fullmatch(plaintext)
    assert page.url.endswith("/keys")
    expect(page.locator("#keys-list tbody tr")).to_have_count(1)  # the list was refreshed in place
    assert page.locator("#keys-list tbody code").inner_text() == plaintext[:8] + "…"
    assert page.locator("#keys-list tbody .key-name").inner_text() == "Nightly import"
    screenshot(page, "api-keys")
    page.reload()
    assert page.get_by_test_id("new-key").count() == 0
    assert plaintext not in page.content()
    assert page.locator("#keys-list tbody tr").count() == 1


@pytest.mark.browser
def test_panel_can_be_dismissed_and_revoke_asks_first(world, page, login):
    login("owner@acme.test")
    page.goto("/keys")
    page.get_by_role("button", name="Create key").click()
    page.get_by_test_id("new-key").wait_for()
    page.get_by_role("button", name=re.compile("^Dismiss")).click()
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    page.get_by_role("link", name=re.compile("^Revoke")).click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator("dialog[open]")).to_have_count(0)
    page.get_by_role("link", name=re.compile("^Revoke")).click()
    page.locator("dialog[open]").get_by_role("button", name="Revoke key").click()
    page.wait_for_url("**/keys")
    expect(page.get_by_text("revoked")).to_be_visible()
    expect(page.get_by_text("You have no API keys in this organization yet.")).to_be_visible()


# --- Key names -----------------------------------------------------------------------------------

def test_a_key_gets_an_optional_name_shown_in_the_list(client, world):
    token = web_login(client, "owner@acme.test")
    named = client.post("/keys", data={"permission": "read", "name": "  Nightly <import>  ", "csrf_token": token})
    assert named.status_code == 201
    page = named.get_data(as_text=True)
    assert "key “Nightly &lt;import&gt;” created" in page
    assert '<td class="key-name">Nightly &lt;import&gt;</td>' in page
    assert db.session.scalar(select(ApiKey.name)) == "Nightly <import>"  # trimmed, stored as typed
    unnamed = _create(client, token)
    assert unnamed.status_code == 201 and '<span class="muted">unnamed</span>' in unnamed.get_data(as_text=True)


@pytest.mark.parametrize(("name", "message"), [
    ("x" * 65, "Ensure this field has no more than 64 characters."),
    ("tab\there", "A key name cannot contain control characters."),
])
def test_bad_key_names_are_explained_at_the_field(client, world, name, message):
    token = web_login(client, "owner@acme.test")
    answer = client.post("/keys", data={"permission": "read", "name": name, "csrf_token": token})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and f'<p class="field-error" id="name-error">{message}</p>' in page
    assert 'aria-invalid="true" aria-describedby="name-error"' in page
    assert db.session.scalar(select(ApiKey.id)) is None


def test_whoami_names_the_key_by_its_name_or_prefix(client, world):
    named = accounts.create_api_key("acme", "owner@acme.test", "read", name="CI pipeline")
    unnamed = accounts.create_api_key("acme", "owner@acme.test", "read")
    for key, expected in ((named, "CI pipeline"), (unnamed, unnamed[:8])):
        me = client.get("/api/v1/unstract/whoami/", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 200 and me.get_json()["key_name"] == expected


def test_revoking_a_named_key_names_it(client, world):
    key = accounts.create_api_key("acme", "owner@acme.test", "read", name="Old laptop")
    key_id = db.session.scalar(select(ApiKey.id).where(ApiKey.key_prefix == key[:8]))
    token = web_login(client, "owner@acme.test")
    assert "Revoke key “Old laptop” " in client.get(f"/keys/{key_id}/revoke").get_data(as_text=True)
    done = client.post(f"/keys/{key_id}/revoke", data={"csrf_token": token}, follow_redirects=True)
    assert "API key “Old laptop” (" in done.get_data(as_text=True)
