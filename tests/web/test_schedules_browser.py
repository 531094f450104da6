"""The Schedules section in a real browser: add (with a bad cron first), the words and next runs, pause,
resume, delete; escaped text."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import acme_workflow
from tests.web.browser import screenshot
from tests.web.web_client import XSS_NAME

pytestmark = pytest.mark.browser


def test_owner_schedules_pauses_resumes_and_deletes(page, login, world):
    workflow = acme_workflow(world)
    login("owner@acme.test")
    page.goto(f"/workflows/{workflow.id}")
    section = page.locator("#schedules")
    expect(section).to_contain_text("Not scheduled.")

    section.locator("#schedule-cron").fill("0 6 * *")
    section.get_by_role("button", name="Add schedule").click()
    expect(page.locator("#schedule-cron-error")).to_contain_text("expected 5 fields")

    page.locator("#schedule-cron").fill("0 6 * * 1-5")
    page.locator("#schedule-timezone").fill("Europe/Berlin")
    page.locator("#schedule-description").fill(XSS_NAME)
    page.get_by_role("button", name="Add schedule").click()
    section = page.locator("#schedules")
    expect(section.locator(".notice-success")).to_have_text("Schedule created.")
    expect(section.locator("h3").first).to_contain_text("every weekday at 06:00 Europe/Berlin")
    expect(section.locator(".wf-upcoming li")).to_have_count(5)
    expect(section).to_contain_text(XSS_NAME)  # shown as text, not run as markup
    assert page.locator("#schedules img").count() == 0
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top of the picture
    screenshot(page, "workflow-schedules")

    section.get_by_role("button", name="Pause").click()
    expect(page.locator("#schedules")).to_contain_text("none while paused")
    page.locator("#schedules").get_by_role("button", name="Resume").click()
    expect(page.locator("#schedules .wf-upcoming li")).to_have_count(5)

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#schedules").get_by_role("button", name="Delete").click()
    expect(page.locator("#schedules")).to_contain_text("Not scheduled.")
