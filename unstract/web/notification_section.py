"""The "Notifications" section of the workflow page, built from loaded rows (templates never query).

After a failed post the form that was sent comes back with what was typed (never the authorization key)
and its errors; `form_for` names it: "new", or the id of the notification being edited.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from unstract.errors import FieldMessage
from unstract.extensions import db
from unstract.models import AUTHORIZATION_TYPES, EVENTS, Workflow
from unstract.services import notifications
from unstract.web.schema_forms import errors_by_attr

DELIVERIES_SHOWN = 10
AUTHORIZATION_LABELS = {"none": "None", "bearer": "Bearer token (Authorization: Bearer …)",
                        "api_key": "API key (Authorization: …)", "custom_header": "Custom header"}
FORMAT_LABELS = {"json": "JSON", "slack": "Slack message"}
NEW_FORM = {"url": "", "format": "json", "events": list(EVENTS), "is_active": True,
            "authorization_type": "none", "authorization_header": "", "max_retries": 5}


@dataclass
class NotificationsSection:
    workflow_id: uuid.UUID
    can_edit: bool
    items: list[tuple[dict, list[dict]]]  # each notification with its latest deliveries
    message: str = ""
    secret: str = ""  # a generated signing secret, shown once after the creation
    form_for: str = ""
    form: dict = field(default_factory=lambda: dict(NEW_FORM))
    errors: dict = field(default_factory=dict)
    events: Sequence[str] = EVENTS
    formats: dict = field(default_factory=lambda: FORMAT_LABELS)
    authorization_types: dict = field(default_factory=lambda: {k: AUTHORIZATION_LABELS[k]
                                                               for k in AUTHORIZATION_TYPES})

    def form_of(self, notification: dict) -> dict:
        """The values an edit form shows: what was posted if this form failed, else the stored ones."""
        if self.form_for == str(notification["id"]):
            return self.form
        return {name: notification[name] for name in NEW_FORM} | {
            "authorization_header": notification["authorization_header"] or ""}

    @property
    def new_form(self) -> dict:
        return self.form if self.form_for == "new" else dict(NEW_FORM)

    def errors_of(self, form_for: str) -> dict:
        return self.errors if self.form_for == form_for else {}


def notifications_section(workflow: Workflow, *, can_edit: bool, message: str = "", secret: str = "",
                          form_for: str = "", form: dict | None = None,
                          messages: Sequence[FieldMessage] = ()) -> NotificationsSection:
    """The workflow's webhooks with the latest deliveries of each."""
    items = []
    for notification in db.session.scalars(notifications.list_query(workflow)):
        latest = db.session.scalars(notifications.deliveries_query(notification).limit(DELIVERIES_SHOWN))
        items.append((notifications.present(notification), [notifications.present_delivery(d) for d in latest]))
    section = NotificationsSection(workflow.id, can_edit, items, message, secret, form_for,
                                   errors=errors_by_attr(messages))
    if form is not None:
        section.form = form
    return section
