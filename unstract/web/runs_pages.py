"""Workflow detail, Run: upload files (API source) or run the source folder, or start step by step.

Routes of the `web_workflows` blueprint. The page calls the execute protocol (docs/EXECUTION.md, The execute call) with
timeout 0, so it never waits for the run, then opens the execution page (/executions/<id>).
"""

from __future__ import annotations

import uuid

from flask import current_app, request
from flask_login import login_required

from unstract.errors import Conflict, QueueUnavailable, Throttled, ValidationFailed
from unstract.policy import get_visible_workflow
from unstract.services.executions import ExecuteCommand, execute
from unstract.services.uploads import UploadPart
from unstract.web.context import current_requester, is_htmx
from unstract.web.workflow_detail_pages import section_response
from unstract.web.workflow_sections import run_section
from unstract.web.workflows_blueprint import bp, hx_redirect

RUN_ERRORS = (ValidationFailed, Conflict, Throttled, QueueUnavailable)
# htmx swaps 400/409 responses (static/app.js); the other refusals come back as 200 with their message.
SWAPPED_STATUSES = (400, 409)


def execution_url(execution_id: str) -> str:
    """The execution page (the executions area)."""
    return f"/executions/{execution_id}"


def command_from_form(workflow_id: uuid.UUID) -> ExecuteCommand:
    """The execute command a Run form describes; file history is a choice only where the form offers it."""
    history = ("use_file_history" in request.form) if "history_choice" in request.form else None
    parts = [UploadPart.of(f) for f in request.files.getlist("files") if f.filename]
    action = "START" if request.form.get("execution_action") == "START" else None
    return ExecuteCommand(workflow_id=workflow_id, action=action, timeout=0, use_file_history=history, parts=parts)


@bp.post("/workflows/<uuid:workflow_id>/run")
@login_required
def run(workflow_id: uuid.UUID):
    """Start an execution (anyone who sees the workflow may run it, as in the API) and open it."""
    who = current_requester()
    workflow = get_visible_workflow(who, workflow_id)
    try:
        body = execute(who, command_from_form(workflow.id), current_app.config["UNSTRACT_SETTINGS"]).response
    except RUN_ERRORS as exc:
        status = exc.status if exc.status in SWAPPED_STATUSES or not is_htmx() else 200
        section = run_section(workflow, [m.detail for m in exc.messages])
        return section_response(who, workflow, "run", section, status)
    return hx_redirect(execution_url(body["execution_id"]))
