"""Login and logout in a real browser (§2.11)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_login_then_logout(world, page, login):
    login("owner@acme.test")
    assert page.locator("text=owner@acme.test").is_visible()
    page.click("text=Log out")
    page.wait_for_url("**/login")
    assert page.locator("input[name=email]").is_visible()


def test_wrong_password_shows_the_message(world, page):
    page.goto("/login")
    page.fill("input[name=email]", "owner@acme.test")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert page.locator("text=Invalid email or password.").is_visible()
