"""Workflows list: search, pages, the active switch, create, edit and delete (issue 4, item 2)."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from unstract.errors import FieldMessage, ValidationFailed
from unstract.models.base import utcnow
from unstract.schemas.parsing import parse
from unstract.schemas.workflow_input import WorkflowWriteSchema
from unstract.services import workflow_pages, workflows
from unstract.web.context import current_requester, is_htmx, request_page
from unstract.web.schema_forms import errors_by_attr
from unstract.web.workflows_blueprint import bp, hx_redirect, owned_workflow

TABLE_ID = "workflow-table"


def row_id(workflow_id: uuid.UUID) -> str:
    """The DOM id of a workflow's table row (the target of its switch and delete button)."""
    return f"wf-{workflow_id}"


@bp.app_template_filter("wf_ago")
def ago(value: datetime | None) -> str:
    """'just now', '5 min ago', '3 h ago', '2 d ago', else the date."""
    if value is None:
        return ""
    seconds = max(0, int((utcnow() - value).total_seconds()))
    for limit, unit, size in ((60, None, 1), (3600, "min", 60), (86400, "h", 3600), (86400 * 30, "d", 86400)):
        if seconds < limit:
            return "just now" if unit is None else f"{seconds // size} {unit} ago"
    return value.strftime("%Y-%m-%d")


# --- The form (the API's write schema, for the writable fields it shows) ---------------------------

FORM_FIELDS = ("workflow_name", "description")


def parse_form(form: MultiDict, *, retries: bool = False) -> tuple[dict, list[FieldMessage]]:
    """The valid part of a create/edit post and its field errors; the service adds its own (unique).
    An input left empty is sent as "" (the retry limit as null), so a form never misses a field."""
    fields = (*FORM_FIELDS, "max_file_execution_count") if retries else FORM_FIELDS
    data: dict = {attr: form.get(attr, "") for attr in FORM_FIELDS}
    if retries:
        data["max_file_execution_count"] = form.get("max_file_execution_count", "").strip() or None
    return parse(WorkflowWriteSchema(only=fields), data)


def _values(form: MultiDict | dict) -> dict:
    keys = ("workflow_name", "description", "max_file_execution_count")
    return {key: "" if form.get(key) is None else str(form.get(key)) for key in keys}


# --- List -------------------------------------------------------------------------------------

@bp.get("/")
@login_required
def index():
    """Workflows visible in the current organization; htmx asks for the table only (search, pages)."""
    who = current_requester()
    listing = workflow_pages.list_page(who, search=request.args.get("search", "").strip(), page=request_page())
    if is_htmx() and not request.headers.get("HX-Boosted"):
        return render_template("workflows/_table.html", listing=listing)
    return render_template("workflows/index.html", listing=listing, values=_values({}), errors={})


@bp.put("/workflows/<uuid:workflow_id>/active")
@bp.post("/workflows/<uuid:workflow_id>/active")
@login_required
def toggle_active(workflow_id: uuid.UUID):
    """Flip the active switch (owners); htmx gets the row back, a plain form goes back to the list."""
    who, workflow = owned_workflow(workflow_id)
    workflows.toggle_active(who, workflow)
    if not is_htmx():
        return redirect(url_for(".index"), 303)
    return render_template("workflows/_row.html", row=workflow_pages.row(who, workflow_id))


# --- Create, edit, delete ---------------------------------------------------------------------

@bp.get("/workflows/new")
@login_required
def new():
    """The create form on its own page (phones, no-JS)."""
    current_requester()
    return render_template("workflows/new.html", values=_values({}), errors={})


@bp.post("/workflows")
@login_required
def create():
    """Create a workflow owned by the requester, then open it."""
    who = current_requester()
    data, problems = parse_form(request.form)
    try:
        created = workflows.create(who, data, problems, ignore_case=True)  # see workflows.DUPLICATE_NAME_CASE
    except ValidationFailed as exc:
        template = "workflows/_create_form.html" if is_htmx() else "workflows/new.html"
        return render_template(template, values=_values(request.form), errors=errors_by_attr(exc.messages)), 400
    flash(f"Workflow “{created['workflow_name']}” created.", "success")
    return hx_redirect(url_for(".detail", workflow_id=created["id"]))


@bp.route("/workflows/<uuid:workflow_id>/edit", methods=["GET", "POST"])
@login_required
def edit(workflow_id: uuid.UUID):
    """Rename, describe, set the retry limit (owners)."""
    who, workflow = owned_workflow(workflow_id)
    if request.method == "GET":
        stored = {"workflow_name": workflow.workflow_name, "description": workflow.description,
                  "max_file_execution_count": workflow.max_file_execution_count}
        return _edit_page(workflow, _values(stored), {})
    data, problems = parse_form(request.form, retries=True)
    try:
        workflows.update(who, workflow, data, problems, ignore_case=True)
    except ValidationFailed as exc:
        return _edit_page(workflow, _values(request.form), errors_by_attr(exc.messages), 400)
    flash("Workflow saved.", "success")
    return hx_redirect(url_for(".detail", workflow_id=workflow_id))


def _edit_page(workflow, values: dict, errors: dict, status: int = 200):
    template = "workflows/_edit_form.html" if is_htmx() else "workflows/edit.html"
    return render_template(template, workflow_id=workflow.id, name=workflow.workflow_name, values=values,
                           errors=errors), status


@bp.route("/workflows/<uuid:workflow_id>/delete", methods=["GET", "POST"])
@login_required
def delete(workflow_id: uuid.UUID):
    """Confirm, then delete a workflow with its runs and history (owners)."""
    who, workflow = owned_workflow(workflow_id)
    if request.method == "GET":
        return render_template("workflows/delete.html", workflow_id=workflow.id, name=workflow.workflow_name)
    name = workflow.workflow_name
    workflows.delete_workflow(workflow, current_app.config["UNSTRACT_SETTINGS"].data_dir)
    if is_htmx() and request.headers.get("HX-Target") == row_id(workflow_id):
        return ""
    flash(f"Workflow “{name}” deleted.", "success")
    return hx_redirect(url_for(".index"))
