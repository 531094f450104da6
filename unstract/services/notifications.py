"""Notification use cases (docs/API.md, Notifications): webhooks of a workflow and their delivery log.

Anyone who sees the workflow sees its notifications and deliveries; its owners (and org admins)
create, change, delete and redeliver. Credentials are sealed at rest and never shown again: a
generated signing secret is returned once, in the creation response.
"""

from __future__ import annotations

import re
import secrets as random_secrets
import uuid
from collections.abc import Sequence

from sqlalchemy import Select, select

from unstract import errors
from unstract.errors import FieldMessage
from unstract.extensions import db
from unstract.models import EVENTS, Delivery, Notification, Workflow
from unstract.policy import Requester, get_visible_workflow
from unstract.services import deliveries, secrets, webhook_targets
from unstract.services.validation import raise_if_any

FIELDS = ("url", "events", "is_active", "max_retries", "format", "secret", "authorization_type",
          "authorization_key", "authorization_header")
DEFAULTS = {"is_active": True, "max_retries": 5, "format": "json", "authorization_type": "none"}
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
RESERVED_HEADERS = ("host", "content-type", "content-length", "transfer-encoding", "connection", "user-agent")
NO_EVENTS = "Choose at least one event."
KEY_NEEDED = "An authorization key is required for this authorization type."
HEADER_NEEDED = "A header name is required for custom_header."
BAD_HEADER = "Not a valid header name, or one the delivery sets itself."
BAD_KEY = "The key may not contain control characters."
SECRET_PREFIX = "whsec_"


# --- Reading -------------------------------------------------------------------------------------

def list_query(workflow: Workflow) -> Select:
    return (select(Notification).where(Notification.workflow_id == workflow.id)
            .order_by(Notification.created_at, Notification.id))


def get_notification(who: Requester, notification_id: uuid.UUID, *, owner: bool = False) -> Notification:
    """A notification whose workflow is visible (404 otherwise); 403 when `owner` is needed and missing."""
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        raise errors.NotFound()
    get_visible_workflow(who, notification.workflow_id, owner=owner)
    return notification


def present(notification: Notification, *, generated_secret: str | None = None) -> dict:
    """The representation; credentials never appear, except a generated secret in the creation response."""
    shown = {
        "id": notification.id, "workflow": notification.workflow_id, "url": notification.url,
        "events": list(notification.events), "is_active": notification.is_active,
        "max_retries": notification.max_retries, "format": notification.format,
        "authorization_type": notification.authorization_type,
        "authorization_header": notification.authorization_header,
        "has_authorization_key": notification.authorization_key is not None,
        "created_by": notification.created_by,
        "created_at": notification.created_at, "modified_at": notification.modified_at,
    }
    if generated_secret is not None:
        shown["secret"] = generated_secret
    return shown


def deliveries_query(notification: Notification) -> Select:
    return (select(Delivery).where(Delivery.notification_id == notification.id)
            .order_by(Delivery.created_at.desc(), Delivery.id.desc()))


def get_delivery(notification: Notification, delivery_id: uuid.UUID) -> Delivery:
    delivery = db.session.scalar(select(Delivery).where(Delivery.id == delivery_id,
                                                        Delivery.notification_id == notification.id))
    if delivery is None:
        raise errors.NotFound()
    return delivery


def present_delivery(delivery: Delivery) -> dict:
    return {
        "id": delivery.id, "event": delivery.event, "execution_id": delivery.execution_id,
        "status": delivery.status, "attempts": delivery.attempts, "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error, "last_response_body": delivery.last_response_body,
        "next_attempt_at": delivery.next_attempt_at if delivery.status == "pending" else None,
        "created_at": delivery.created_at,
    }


# --- Rules ---------------------------------------------------------------------------------------

def _url_problems(data: dict, allow_private: bool) -> list[FieldMessage]:
    if "url" not in data:
        return []
    try:
        webhook_targets.check_at_save(data["url"], allow_private)
    except webhook_targets.TargetRefused as exc:
        code = "invalid" if str(exc) == webhook_targets.NOT_HTTP else "url_not_allowed"
        return [FieldMessage(code, str(exc), "url")]
    return []


def _events(data: dict) -> list[FieldMessage]:
    """Events in their canonical order, once each; an empty list means nothing to send and is refused."""
    if "events" not in data:
        return []
    if not data["events"]:
        return [FieldMessage("invalid", NO_EVENTS, "events")]
    data["events"] = [name for name in EVENTS if name in data["events"]]
    return []


def _authorization_problems(merged: dict, key_set: bool) -> list[FieldMessage]:
    """The authorization rules on the values the notification will have after this write."""
    kind, header = merged["authorization_type"], merged.get("authorization_header")
    problems = []
    if kind != "none" and not key_set:
        problems.append(FieldMessage("required", KEY_NEEDED, "authorization_key"))
    if kind == "custom_header":
        if not header:
            problems.append(FieldMessage("required", HEADER_NEEDED, "authorization_header"))
        elif not HEADER_NAME.match(header) or header.lower() in RESERVED_HEADERS \
                or header.lower().startswith("x-unstract-"):
            problems.append(FieldMessage("invalid", BAD_HEADER, "authorization_header"))
    return problems


def _key_problems(data: dict) -> list[FieldMessage]:
    key = data.get("authorization_key")
    if key and any(ord(c) < 32 or ord(c) == 127 for c in key):
        return [FieldMessage("invalid", BAD_KEY, "authorization_key")]
    return []


def _check(data: dict, field_errors: Sequence[FieldMessage], merged: dict, key_set: bool,
           allow_private: bool) -> None:
    messages = [*field_errors, *_url_problems(data, allow_private), *_events(data), *_key_problems(data)]
    if not any(m.attr and m.attr.startswith("authorization") for m in messages):
        messages.extend(_authorization_problems(merged, key_set))
    raise_if_any(messages, FIELDS)


def write_settings(config) -> dict:
    """What a write needs from the app's config: the sealing key and whether private targets are allowed."""
    return {"secret_key": config["SECRET_KEY"],
            "allow_private": config["UNSTRACT_SETTINGS"].webhook_allow_private_networks}


# --- Writing -------------------------------------------------------------------------------------

def create(who: Requester, workflow: Workflow, data: dict, field_errors: Sequence[FieldMessage], *,
           secret_key: str | bytes, allow_private: bool) -> dict:
    """POST workflow/{id}/notifications/ (owner): validate, seal the credentials, insert."""
    merged = {**DEFAULTS, **{k: v for k, v in data.items() if v is not None}}
    _check(data, field_errors, merged, bool(data.get("authorization_key")), allow_private)
    generated = None if data.get("secret") else SECRET_PREFIX + random_secrets.token_urlsafe(32)
    kind = merged["authorization_type"]
    notification = Notification(
        workflow_id=workflow.id, url=data["url"], events=data.get("events") or list(EVENTS),
        is_active=merged["is_active"], max_retries=merged["max_retries"], format=merged["format"],
        secret=_sealed(data.get("secret") or generated, secret_key), authorization_type=kind,
        authorization_key=_sealed(data["authorization_key"], secret_key) if kind != "none" else None,
        authorization_header=merged.get("authorization_header") if kind == "custom_header" else None,
        created_by=who.user_id)
    db.session.add(notification)
    db.session.commit()
    return present(notification, generated_secret=generated)


def update(notification: Notification, data: dict, field_errors: Sequence[FieldMessage], *,
           secret_key: str | bytes, allow_private: bool) -> dict:
    """PATCH workflow/notifications/{id}/ (owner): any subset; absent credentials are kept, none echoed."""
    stored = {"authorization_type": notification.authorization_type,
              "authorization_header": notification.authorization_header}
    merged = {**stored, **{k: v for k, v in data.items() if v is not None or k == "authorization_header"}}
    key_set = bool(data.get("authorization_key")) or (
        "authorization_key" not in data and notification.authorization_key is not None)
    _check(data, field_errors, merged, key_set, allow_private)
    for name in ("url", "events", "is_active", "max_retries", "format"):
        if name in data and data[name] is not None:
            setattr(notification, name, data[name])
    if data.get("secret"):
        notification.secret = _sealed(data["secret"], secret_key)
    kind = merged["authorization_type"]
    notification.authorization_type = kind
    if kind == "none":
        notification.authorization_key = None
    elif data.get("authorization_key"):
        notification.authorization_key = _sealed(data["authorization_key"], secret_key)
    notification.authorization_header = merged.get("authorization_header") if kind == "custom_header" else None
    db.session.commit()
    return present(notification)


def delete(notification: Notification) -> None:
    """Its deliveries go with it; a job already queued for one finds nothing and ends."""
    db.session.delete(notification)
    db.session.commit()


def redeliver(delivery: Delivery) -> dict:
    return present_delivery(deliveries.redeliver(delivery))


def _sealed(value: str, secret_key: str) -> str:
    """A webhook credential as stored: sealed under its own key, derived apart from connector secrets'."""
    return secrets.seal_value(value, secret_key, secrets.WEBHOOK_HKDF_INFO)
