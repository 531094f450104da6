"""The Notifications section in a real browser: a private target refused in words, a webhook added (its
secret shown once, the key never), edited, and deleted; at desktop and phone widths."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import acme_workflow
from unstract.extensions import db
from unstract.models import Notification

pytestmark = pytest.mark.browser
KEY = "browser-key-4711"


@pytest.mark.parametrize("width", [1280, 390])
def test_owner_adds_edits_and_deletes_a_webhook(page, login, world, width):
    workflow = acme_workflow(world)
    page.set_viewport_size({"width": width, "height": 900})
    login("owner@acme.test")
    page.goto(f"/workflows/{workflow.id}")
    section = page.locator("#notifications")
    expect(section).to_contain_text("No notifications.")

    section.locator("#notification-new-url").fill("http://127.0.0.1:8080/hook")
    section.locator("#notification-new-authorization_type").select_option("bearer")
    section.locator("#notification-new-authorization_key").fill(KEY)
    section.get_by_role("button", name="Add webhook").click()
    expect(page.locator("#notification-new-url-error")).to_contain_text(
        "Targets on loopback, private, link-local or reserved networks are not allowed.")
    expect(page.locator("#notification-new-authorization_key")).to_have_value("")  # never sent back

    page.locator("#notification-new-url").fill("https://93.184.215.14/hook")
    page.locator("#notification-new-authorization_key").fill(KEY)
    page.locator("#notification-new-format").select_option("slack")
    page.get_by_role("button", name="Add webhook").click()
    section = page.locator("#notifications")
    expect(section.locator(".notice-success")).to_have_text("Notification added.")
    expect(section.locator(".wf-webhook-secret code").first).to_contain_text("whsec_")
    expect(section.locator("article h3")).to_have_text("https://93.184.215.14/hook")
    assert KEY not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0

    section.locator("article summary", has_text="Edit").click()
    article = section.locator("article")
    article.get_by_label("execution.completed").uncheck()
    article.get_by_role("button", name="Save webhook").click()
    expect(page.locator("#notifications .notice-success")).to_have_text("Notification saved.")
    expect(page.locator("#notifications article p.muted").first).not_to_contain_text("execution.completed")
    db.session.expire_all()
    [stored] = db.session.scalars(db.select(Notification).where(Notification.workflow_id == workflow.id)).all()
    assert stored.format == "slack" and stored.authorization_key is not None  # the key kept, left empty
    assert "execution.completed" not in stored.events

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#notifications article").get_by_role("button", name="Delete").click()
    expect(page.locator("#notifications")).to_contain_text("No notifications.")
