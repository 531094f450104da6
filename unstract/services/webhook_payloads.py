"""What a webhook delivery sends (docs/API.md, Notifications): the body, its signature and the headers."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from unstract.fastpath import wire_timestamp
from unstract.models import Delivery, Execution, Notification
from unstract.services.usage import present_usage

JSON_TYPE = "application/json"
USER_AGENT = "Unstract-Webhooks/1"
SLACK_STATUS = {"COMPLETED": "completed", "ERROR": "failed", "STOPPED": "was stopped"}


def execution_part(execution: Execution) -> dict:
    return {
        "id": str(execution.id), "workflow_id": str(execution.workflow_id),
        "workflow_name": execution.workflow.workflow_name, "status": execution.status,
        "total_files": execution.total_files, "successful_files": execution.successful_files,
        "failed_files": execution.failed_files, "error_message": execution.error_message or None,
        "execution_time": execution.execution_time, "usage": present_usage(execution),
    }


def document(delivery: Delivery, execution: Execution) -> dict:
    """The JSON format's body."""
    return {"event": delivery.event, "delivery_id": str(delivery.id),
            "occurred_at": wire_timestamp(execution.modified_at), "execution": execution_part(execution)}


def slack_line(execution: Execution) -> str:
    """One readable line for a chat channel."""
    line = (f"Workflow \"{execution.workflow.workflow_name}\" {SLACK_STATUS.get(execution.status, execution.status)}: "
            f"{execution.successful_files} of {execution.total_files} file(s) succeeded, "
            f"{execution.failed_files} failed, in {execution.execution_time:.1f} s (execution {execution.id}).")
    if execution.error_message:
        line += f" Error: {execution.error_message}"
    return line


def body(notification: Notification, delivery: Delivery, execution: Execution) -> bytes:
    content = {"text": slack_line(execution)} if notification.format == "slack" else document(delivery, execution)
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, timestamp: str, raw_body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed with the notification's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def authorization_headers(notification: Notification, key: str | None) -> dict[str, str]:
    """The receiver's own credential, as Unstract's notifications send it."""
    if notification.authorization_type == "none" or not key:
        return {}
    if notification.authorization_type == "bearer":
        return {"Authorization": f"Bearer {key}"}
    if notification.authorization_type == "api_key":
        return {"Authorization": key}
    return {notification.authorization_header: key}


def headers(notification: Notification, delivery: Delivery, raw_body: bytes, secret: str,
            authorization_key: str | None, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {
        **authorization_headers(notification, authorization_key),
        "Content-Type": JSON_TYPE, "User-Agent": USER_AGENT,
        "X-Unstract-Event": delivery.event, "X-Unstract-Delivery": str(delivery.id),
        "X-Unstract-Timestamp": timestamp, "X-Unstract-Signature": signature(secret, timestamp, raw_body),
    }
