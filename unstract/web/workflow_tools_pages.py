"""Workflow detail, tools: add a step, edit its settings (rules), move it, remove it (issue 4, item 3).

Routes of the `web_workflows` blueprint. The settings forms are generated from the tool's settings schema
(schema_forms); saving goes through services.tool_instances, the same rules as the API.
"""

from __future__ import annotations

import uuid

from flask import abort, render_template, request
from flask_login import login_required

from unstract.errors import ValidationFailed
from unstract.models import ToolInstance, Workflow
from unstract.policy import Requester
from unstract.services import tool_instances
from unstract.tools.registry import TOOLS
from unstract.web.context import is_htmx
from unstract.web.schema_forms import ROW_ACTION, apply_row_action, read_form
from unstract.web.workflow_detail_pages import page, section_response
from unstract.web.workflow_sections import ToolForm, step_instance, tool_form, tools_section
from unstract.web.workflows_blueprint import bp, owned_workflow


def _owned_step(workflow_id: uuid.UUID, instance_id: uuid.UUID) -> tuple[Requester, Workflow, ToolInstance]:
    """The requester, their workflow and one of its steps (404 for a step of another workflow)."""
    who, workflow = owned_workflow(workflow_id)
    instance = step_instance(workflow, instance_id)
    if instance is None:
        abort(404)
    return who, workflow, instance


def _settings(tool_id: str) -> tuple[dict, list]:
    """The settings document posted for `tool_id` and its parse problems ({} for an unknown tool)."""
    spec = TOOLS.get(tool_id)
    return read_form(spec.settings_schema, request.form, "metadata") if spec else ({}, [])


def _tools(who: Requester, workflow: Workflow, status: int = 200, **given):
    section = tools_section(workflow, can_edit=True, **given)
    return section_response(who, workflow, "tools", section, status)


def _form_only(who: Requester, workflow: Workflow, form: ToolForm, template: str):
    """A row added or removed: the form again, nothing saved (htmx swaps the form, a plain post the page)."""
    if is_htmx():
        section = tools_section(workflow, can_edit=True)
        return render_template(template, tools=section, step=form, add=form)
    given = {"edited": form} if form.id else {"add": form}
    return page(who, workflow, tools=tools_section(workflow, can_edit=True, **given))


def _with_row_action(tool_id: str, instance: ToolInstance | None = None) -> ToolForm:
    """The posted settings with a row added or removed (blank rows kept: they are being filled in)."""
    spec = TOOLS.get(tool_id)
    document, _ = read_form(spec.settings_schema, request.form, "metadata", keep_blank_rows=True) if spec else ({}, [])
    document = apply_row_action(document, request.form[ROW_ACTION], "metadata")
    return tool_form(tool_id, document, instance.id if instance else None, is_open=True,
                     step=instance.step if instance else 0)


@bp.get("/workflows/<uuid:workflow_id>/tools/new")
@login_required
def add_tool_form(workflow_id: uuid.UUID):
    """The add-a-step form for the chosen tool (its settings start at their defaults)."""
    who, workflow = owned_workflow(workflow_id)
    form = tool_form(request.args.get("tool_id", ""), {}, None, is_open=True)
    return _form_only(who, workflow, form, "workflows/_tool_add.html")


@bp.post("/workflows/<uuid:workflow_id>/tools")
@login_required
def add_tool(workflow_id: uuid.UUID):
    """Append a step (POST tool_instance/ rules); a row button only redraws the form."""
    who, workflow = owned_workflow(workflow_id)
    tool_id = request.form.get("tool_id", "")
    if request.form.get(ROW_ACTION):
        return _form_only(who, workflow, _with_row_action(tool_id), "workflows/_tool_add.html")
    document, problems = _settings(tool_id)
    try:
        tool_instances.create(who, {"workflow_id": workflow.id, "tool_id": tool_id, "metadata": document}, problems)
    except ValidationFailed as exc:
        return _tools(who, workflow, 400, add=tool_form(tool_id, document, None, messages=exc.messages))
    return _tools(who, workflow, message=f"Step added: {TOOLS[tool_id].name}.")


@bp.post("/workflows/<uuid:workflow_id>/tools/<uuid:instance_id>")
@login_required
def save_tool(workflow_id: uuid.UUID, instance_id: uuid.UUID):
    """Save a step's settings (PATCH tool_instance/ rules); a row button only redraws the form."""
    who, workflow, instance = _owned_step(workflow_id, instance_id)
    if request.form.get(ROW_ACTION):
        return _form_only(who, workflow, _with_row_action(instance.tool_id, instance), "workflows/_tool_step.html")
    document, problems = _settings(instance.tool_id)
    try:
        tool_instances.update(instance, {"metadata": document}, problems)
    except ValidationFailed as exc:
        edited = tool_form(instance.tool_id, document, instance.id, messages=exc.messages)
        return _tools(who, workflow, 400, edited=edited)
    return _tools(who, workflow, message=f"Step {instance.step} saved.")


@bp.post("/workflows/<uuid:workflow_id>/tools/<uuid:instance_id>/move")
@login_required
def move_tool(workflow_id: uuid.UUID, instance_id: uuid.UUID):
    """Move a step one place up or down (the others are renumbered by the service)."""
    who, workflow, instance = _owned_step(workflow_id, instance_id)
    offset = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if offset is None:
        abort(400)
    target = instance.step + offset
    if target >= 1:
        try:
            tool_instances.update(instance, {"step": target}, [])
        except ValidationFailed:
            pass  # already the last step: nothing to move
    return _tools(who, workflow)


@bp.post("/workflows/<uuid:workflow_id>/tools/<uuid:instance_id>/delete")
@login_required
def delete_tool(workflow_id: uuid.UUID, instance_id: uuid.UUID):
    """Remove a step; later steps move up."""
    who, workflow, instance = _owned_step(workflow_id, instance_id)
    name, step = TOOLS[instance.tool_id].name if instance.tool_id in TOOLS else instance.tool_id, instance.step
    tool_instances.delete_instance(instance)
    return _tools(who, workflow, message=f"Step {step} removed: {name}.")
