"""Login and logout in a real browser (docs/API.md, Authentication)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_login_then_logout(world, page, login):
    login("owner@acme.test")
    expect(page.locator("text=owner@acme.test")).to_be_visible()
    page.click("text=Log out")
    page.wait_for_url("**/login")
    expect(page.locator("input[name=email]")).to_be_visible()


def test_wrong_password_shows_the_message(world, page):
    page.goto("/login")
    page.fill("input[name=email]", "owner@acme.test")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    expect(page.locator("text=Invalid email or password.")).to_be_visible()
