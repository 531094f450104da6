"""The overview's "Upcoming runs": soonest first, in each schedule's time zone, only what the reader sees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.factories import acme_workflow, make_workflow
from tests.web.web_client import XSS_NAME, web_login
from unstract.extensions import db
from unstract.models import Schedule
from unstract.models.base import utcnow
from unstract.services import accounts
from unstract.web.upcoming_section import UPCOMING_SHOWN, upcoming_runs


def scheduled(workflow, world, next_run_at: datetime, cron: str = "0 6 * * 1-5", timezone: str = "UTC",
              **fields) -> Schedule:
    schedule = Schedule(organization_id=workflow.organization_id, workflow_id=workflow.id, cron=cron,
                        timezone=timezone, next_run_at=next_run_at, created_by=world.users["owner"].id, **fields)
    db.session.add(schedule)
    db.session.commit()
    return schedule


def test_runs_come_soonest_first_on_their_own_wall_clock_and_paused_ones_are_left_out(world):
    soon = utcnow().replace(microsecond=0) + timedelta(hours=1)
    berlin = acme_workflow(world, "Berlin invoices")
    scheduled(berlin, world, datetime(2030, 1, 7, 5, 0, tzinfo=UTC), timezone="Europe/Berlin")
    scheduled(acme_workflow(world, "Hourly"), world, soon, cron="0 * * * *")
    scheduled(acme_workflow(world, "Paused"), world, soon, is_active=False)
    runs = upcoming_runs(accounts.default_requester(world.users["owner"]))
    assert [run.workflow_name for run in runs] == ["Hourly", "Berlin invoices"]
    assert runs[1].words == "every weekday at 06:00 Europe/Berlin"
    assert runs[1].local == "Mon 2030-01-07 06:00 CET"
    assert runs[1].workflow_id == berlin.id


def test_only_schedules_of_visible_workflows_of_the_org_are_listed(world):
    private = make_workflow(world.users["owner"], "acme", workflow_name="Owner only")
    scheduled(private, world, utcnow() + timedelta(minutes=5))
    scheduled(acme_workflow(world, "Shared"), world, utcnow() + timedelta(minutes=9))
    viewer = accounts.default_requester(world.users["viewer"])
    assert [run.workflow_name for run in upcoming_runs(viewer)] == ["Shared"]
    admin = accounts.default_requester(world.users["admin"])
    assert [run.workflow_name for run in upcoming_runs(admin)] == ["Owner only", "Shared"]


def test_the_list_is_bounded(world):
    workflow = acme_workflow(world)
    for minutes in range(UPCOMING_SHOWN + 3):
        scheduled(workflow, world, utcnow() + timedelta(minutes=minutes + 1))
    assert len(upcoming_runs(accounts.default_requester(world.users["owner"]))) == UPCOMING_SHOWN


def test_the_overview_links_each_run_to_its_workflow_with_names_escaped(client, world):
    workflow = acme_workflow(world, XSS_NAME)
    scheduled(workflow, world, utcnow() + timedelta(minutes=5))
    web_login(client, "owner@acme.test")
    page = client.get("/overview").get_data(as_text=True)
    assert 'id="upcoming-runs"' in page and f'href="/workflows/{workflow.id}#schedules"' in page
    assert XSS_NAME not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_an_org_without_schedules_says_so(client, world):
    web_login(client, "owner@acme.test")
    assert "No active schedules." in client.get("/overview").get_data(as_text=True)


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_upcoming_runs_in_a_browser_lead_to_the_workflow(world, page, login, width):
    workflow = acme_workflow(world, "Nightly archive")
    scheduled(workflow, world, datetime(2030, 1, 7, 5, 0, tzinfo=UTC), timezone="Europe/Berlin")
    page.set_viewport_size({"width": width, "height": 860})
    login("owner@acme.test")
    page.goto("/overview")
    section = page.locator("#upcoming-runs")
    expect(section.locator("tbody tr")).to_have_count(1)
    expect(section).to_contain_text("every weekday at 06:00 Europe/Berlin")
    expect(section.locator("time")).to_have_text("Mon 2030-01-07 06:00 CET")
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    section.get_by_role("link", name="Nightly archive").click()
    expect(page.locator("#schedules")).to_contain_text("every weekday at 06:00 Europe/Berlin")
