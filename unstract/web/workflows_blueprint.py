"""The `web_workflows` blueprint: the workflows area's page modules register their routes on it."""

from __future__ import annotations

import uuid

from flask import Blueprint, redirect

from unstract.models import Workflow
from unstract.policy import Requester, get_visible_workflow
from unstract.web.context import current_requester, is_htmx

bp = Blueprint("web_workflows", __name__)


def hx_redirect(url: str):
    """Navigate: htmx follows HX-Redirect, a plain form follows 303."""
    if is_htmx():
        return "", 200, {"HX-Redirect": url}
    return redirect(url, 303)


def owned_workflow(workflow_id: uuid.UUID) -> tuple[Requester, Workflow]:
    """The requester and a workflow they own (404 when they cannot see it, 403 when they only view it)."""
    who = current_requester()
    return who, get_visible_workflow(who, workflow_id, owner=True)
