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


# --- Adding, changing and deleting webhooks ------------------------------------------------------

PUBLIC_URL = "https://93.184.215.14/hook"
KEY = "tok-very-secret-123"


def webhook_form(**changes) -> dict:
    form = {"url": PUBLIC_URL, "format": "json", "events": ["execution.completed", "execution.failed"],
            "is_active": "true", "max_retries": "3", "authorization_type": "bearer",
            "authorization_key": KEY, "authorization_header": ""}
    return {**form, **changes}


def notifications_of(workflow) -> list[Notification]:
    db.session.expire_all()
    return db.session.scalars(db.select(Notification).where(Notification.workflow_id == workflow.id)).all()


def add_webhook(client, workflow, **changes):
    return post(client, f"/workflows/{workflow.id}/notifications", webhook_form(**changes), headers=htmx())


def test_an_owner_adds_a_webhook_whose_key_is_sealed_and_never_shown(owner_client, workflow):
    response = add_webhook(owner_client, workflow)
    assert response.status_code == 200
    text = html(response)
    assert text.lstrip().startswith('<section id="notifications"') and "Notification added." in text
    [notification] = notifications_of(workflow)
    assert (notification.url, notification.format, notification.max_retries) == (PUBLIC_URL, "json", 3)
    assert notification.events == ["execution.completed", "execution.failed"]
    assert notification.authorization_type == "bearer" and KEY not in notification.authorization_key
    assert KEY not in text and "whsec_" in text  # the generated signing secret, this once
    page = html(owner_client.get(f"/workflows/{workflow.id}"))
    assert PUBLIC_URL in page and KEY not in page and "whsec_" not in page


@pytest.mark.parametrize(("changes", "message"), [
    ({"url": "http://127.0.0.1:8080/hook"}, "Targets on loopback, private, link-local or reserved networks"),
    ({"url": "http://10.1.2.3/hook"}, "Targets on loopback, private, link-local or reserved networks"),
    ({"url": "ftp://example.com/x"}, "Enter an http or https URL."),
    ({"events": []}, "Choose at least one event."),
    ({"authorization_key": ""}, "This field is required."),
    ({"authorization_type": "custom_header", "authorization_header": "Host"}, "Not a valid header name"),
    ({"max_retries": "many"}, "integer"),
])
def test_a_refused_webhook_comes_back_with_a_readable_message_and_nothing_stored(owner_client, workflow,
                                                                                 changes, message):
    response = add_webhook(owner_client, workflow, **changes)
    assert response.status_code == 400
    text = html(response)
    assert message in text and 'aria-invalid="true"' in text
    assert KEY not in text  # what was typed comes back, never the key
    assert notifications_of(workflow) == []


def test_editing_keeps_the_stored_key_when_left_empty_and_drops_it_with_no_authorization(owner_client, workflow):
    add_webhook(owner_client, workflow)
    [notification] = notifications_of(workflow)
    sealed = notification.authorization_key
    url = f"/workflows/{workflow.id}/notifications/{notification.id}/edit"
    response = post(owner_client, url, webhook_form(format="slack", authorization_key="", is_active=""),
                    headers=htmx())
    assert response.status_code == 200 and "Notification saved." in html(response)
    [notification] = notifications_of(workflow)
    assert (notification.format, notification.is_active, notification.authorization_key) == ("slack", False, sealed)
    post(owner_client, url, webhook_form(authorization_type="none", authorization_key=""), headers=htmx())
    assert notifications_of(workflow)[0].authorization_key is None


def test_a_refused_edit_reopens_that_form_with_the_message(owner_client, workflow):
    add_webhook(owner_client, workflow)
    [notification] = notifications_of(workflow)
    response = post(owner_client, f"/workflows/{workflow.id}/notifications/{notification.id}/edit",
                    webhook_form(url="http://192.168.1.9/x"), headers=htmx())
    assert response.status_code == 400
    text = html(response)
    assert "Targets on loopback" in text and 'id="notification-' + str(notification.id) + '-url"' in text
    assert notifications_of(workflow)[0].url == PUBLIC_URL


def test_deleting_a_webhook_takes_its_delivery_log(owner_client, workflow):
    delivery = failed_delivery(workflow)
    delivery_id, url = delivery.id, f"/workflows/{workflow.id}/notifications/{delivery.notification_id}/delete"
    response = post(owner_client, url, headers=htmx())
    assert response.status_code == 200 and "Notification deleted" in html(response)
    assert notifications_of(workflow) == []
    assert db.session.scalar(db.select(Delivery.id).where(Delivery.id == delivery_id)) is None


def test_viewers_get_no_forms_and_403_on_every_write(viewer_client, workflow):
    delivery = failed_delivery(workflow)
    base = f"/workflows/{workflow.id}/notifications"
    page = html(viewer_client.get(f"/workflows/{workflow.id}"))
    assert "Add webhook" not in page and f"{base}/{delivery.notification_id}/edit" not in page
    assert post(viewer_client, base, webhook_form()).status_code == 403
    assert post(viewer_client, f"{base}/{delivery.notification_id}/edit", webhook_form()).status_code == 403
    assert post(viewer_client, f"{base}/{delivery.notification_id}/delete").status_code == 403
    assert len(notifications_of(workflow)) == 1


def test_the_webhook_forms_need_the_csrf_token(owner_client, workflow):
    delivery = failed_delivery(workflow)
    base = f"/workflows/{workflow.id}/notifications"
    assert owner_client.post(base, data=webhook_form()).status_code in (400, 403)
    assert owner_client.post(f"{base}/{delivery.notification_id}/delete").status_code in (400, 403)
    assert len(notifications_of(workflow)) == 1


def test_a_notification_of_another_workflow_is_404(owner_client, world, workflow):
    from tests.factories import acme_workflow

    delivery = failed_delivery(acme_workflow(world, "Other"))
    url = f"/workflows/{workflow.id}/notifications/{delivery.notification_id}/delete"
    assert post(owner_client, url).status_code == 404
    assert db.session.get(Delivery, delivery.id) is not None
