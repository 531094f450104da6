"""The Notifications section of the workflow page: the delivery log, escaped, and the redeliver button."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.factories import make_execution
from tests.web.web_client import XSS_NAME, html, htmx, post
from unstract.extensions import db, rq
from unstract.models import Delivery, Notification
from unstract.services import deliveries, secrets


def failed_delivery(workflow) -> Delivery:
    notification = Notification(workflow_id=workflow.id, url=f"https://93.184.215.14/hook?n={XSS_NAME}",
                                secret=secrets.seal_value("s", "test-secret-key", secrets.WEBHOOK_HKDF_INFO))
    db.session.add(notification)
    db.session.flush()
    delivery = Delivery(notification_id=notification.id, execution_id=make_execution(workflow, status="ERROR").id,
                        event="execution.failed", status="failed", attempts=6, last_status_code=500,
                        last_error="HTTP 500", last_response_body=XSS_NAME)
    db.session.add(delivery)
    db.session.commit()
    return delivery


def redeliver_url(workflow, delivery) -> str:
    return f"/workflows/{workflow.id}/notifications/{delivery.notification_id}/deliveries/{delivery.id}/redeliver"


def test_the_section_lists_deliveries_escaped_with_a_redeliver_button_for_owners(owner_client, workflow):
    delivery = failed_delivery(workflow)
    page = html(owner_client.get(f"/workflows/{workflow.id}"))
    assert 'id="notifications"' in page and "execution.failed" in page and "HTTP 500" in page
    assert XSS_NAME not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert redeliver_url(workflow, delivery) in page


def test_viewers_see_the_log_without_the_button(viewer_client, workflow):
    delivery = failed_delivery(workflow)
    page = html(viewer_client.get(f"/workflows/{workflow.id}"))
    assert "execution.failed" in page and redeliver_url(workflow, delivery) not in page
    assert post(viewer_client, redeliver_url(workflow, delivery)).status_code == 403


def test_redeliver_queues_it_again_and_swaps_the_section(owner_client, workflow):
    delivery = failed_delivery(workflow)
    response = post(owner_client, redeliver_url(workflow, delivery), headers=htmx())
    assert response.status_code == 200
    assert html(response).lstrip().startswith('<section id="notifications"')
    assert "Delivery queued again." in html(response)
    db.session.expire_all()
    again = db.session.get(Delivery, delivery.id)
    assert (again.status, again.attempts) == ("pending", 0)
    assert deliveries.job_id(again.id, again.token) in rq.queue().job_ids


def test_redeliver_needs_the_csrf_token(owner_client, workflow):
    delivery = failed_delivery(workflow)
    assert owner_client.post(redeliver_url(workflow, delivery)).status_code in (400, 403)
    db.session.expire_all()
    assert db.session.get(Delivery, delivery.id).status == "failed"


def test_a_delivery_of_another_notification_is_404(owner_client, workflow):
    delivery = failed_delivery(workflow)
    url = f"/workflows/{workflow.id}/notifications/{delivery.notification_id}/deliveries/{uuid.uuid4()}/redeliver"
    assert post(owner_client, url).status_code == 404


@pytest.mark.browser
def test_a_browser_redelivers_from_the_notifications_section(page, login, workflow):
    delivery = failed_delivery(workflow)
    login("owner@acme.test")
    page.goto(f"/workflows/{workflow.id}")
    section = page.locator("#notifications")
    expect(section.locator("tbody tr")).to_have_count(1)
    expect(section.get_by_text("HTTP 500").first).to_be_visible()
    section.get_by_role("button", name="Redeliver").click()
    page.locator("#notifications .notice-success", has_text="Delivery queued again.").wait_for()
    expect(page.locator("#notifications .badge").first).to_have_text("pending")
    db.session.expire_all()
    assert db.session.get(Delivery, delivery.id).status == "pending"
