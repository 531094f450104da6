"""The workflow page's Notifications section: add, change and delete webhooks, and redeliver, through the
API's service (the same rules and messages, private targets refused with the API's words).

Routes of the `web_workflows` blueprint, for the workflow's owners; htmx swaps the section, a plain form
gets the page back. The authorization key is write-only: its input is always empty, and left empty on
an edit it keeps the stored key.
"""

from __future__ import annotations

import uuid

from flask import current_app, request
from flask_login import login_required

from unstract.errors import Conflict, NotFound, ValidationFailed
from unstract.schemas.notification_input import NotificationCreateSchema, NotificationUpdateSchema
from unstract.schemas.parsing import parse
from unstract.services import notifications
from unstract.web.notification_section import notifications_section
from unstract.web.workflow_detail_pages import section_response
from unstract.web.workflows_blueprint import bp, owned_workflow


def _posted() -> tuple[dict, dict]:
    """(the body for the schema, the values to show again in the form: no key among them)."""
    form = request.form
    shown = {"url": form.get("url", ""), "format": form.get("format", "json"), "events": form.getlist("events"),
             "is_active": form.get("is_active") == "true", "max_retries": form.get("max_retries", "").strip(),
             "authorization_type": form.get("authorization_type", "none"),
             "authorization_header": form.get("authorization_header", "").strip()}
    retries = shown["max_retries"]
    body = {**shown, "max_retries": int(retries) if retries.isdigit() else retries or None,
            "authorization_header": shown["authorization_header"] or None}
    if form.get("authorization_key"):
        body["authorization_key"] = form["authorization_key"]
    return {name: value for name, value in body.items() if value is not None}, shown


def _respond(who, workflow, status: int = 200, **built):
    section = notifications_section(workflow, can_edit=True, **built)
    return section_response(who, workflow, "notifications", section, status)


def _owned_notification(workflow_id: uuid.UUID, notification_id: uuid.UUID):
    who, workflow = owned_workflow(workflow_id)
    notification = notifications.get_notification(who, notification_id, owner=True)
    if notification.workflow_id != workflow.id:
        raise NotFound()
    return who, workflow, notification


@bp.post("/workflows/<uuid:workflow_id>/notifications")
@login_required
def create_notification(workflow_id: uuid.UUID):
    """A new webhook; its generated signing secret is shown this once."""
    who, workflow = owned_workflow(workflow_id)
    body, shown = _posted()
    data, problems = parse(NotificationCreateSchema(), body)
    try:
        created = notifications.create(who, workflow, data, problems,
                                       **notifications.write_settings(current_app.config))
    except ValidationFailed as exc:
        return _respond(who, workflow, 400, form_for="new", form=shown, messages=exc.messages)
    return _respond(who, workflow, message="Notification added.", secret=created.get("secret", ""))


@bp.post("/workflows/<uuid:workflow_id>/notifications/<uuid:notification_id>/edit")
@login_required
def edit_notification(workflow_id: uuid.UUID, notification_id: uuid.UUID):
    who, workflow, notification = _owned_notification(workflow_id, notification_id)
    body, shown = _posted()
    data, problems = parse(NotificationUpdateSchema(), body)
    try:
        notifications.update(notification, data, problems, **notifications.write_settings(current_app.config))
    except ValidationFailed as exc:
        return _respond(who, workflow, 400, form_for=str(notification_id), form=shown, messages=exc.messages)
    return _respond(who, workflow, message="Notification saved.")


@bp.post("/workflows/<uuid:workflow_id>/notifications/<uuid:notification_id>/delete")
@login_required
def delete_notification(workflow_id: uuid.UUID, notification_id: uuid.UUID):
    who, workflow, notification = _owned_notification(workflow_id, notification_id)
    notifications.delete(notification)
    return _respond(who, workflow, message="Notification deleted with its delivery log.")


@bp.post("/workflows/<uuid:workflow_id>/notifications/<uuid:notification_id>/deliveries/<uuid:delivery_id>/redeliver")
@login_required
def redeliver(workflow_id: uuid.UUID, notification_id: uuid.UUID, delivery_id: uuid.UUID):
    """Queue a delivery again, as POST …/deliveries/{id}/redeliver/ does."""
    who, workflow, notification = _owned_notification(workflow_id, notification_id)
    try:
        notifications.redeliver(notifications.get_delivery(notification, delivery_id))
        message = "Delivery queued again."
    except Conflict as exc:
        message = str(exc)
    return _respond(who, workflow, message=message)
