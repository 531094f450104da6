"""Workflows list: search, pages, the active switch, create, edit and delete (issue 4, item 2)."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from unstract.auth import get_visible_workflow
from unstract.errors import FieldMessage, ValidationFailed
from unstract.models.base import utcnow
from unstract.services import workflow_pages, workflows
from unstract.web.context import current_requester, is_htmx
from unstract.web.schema_forms import errors_by_attr

bp = Blueprint("web_workflows", __name__)
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


def hx_redirect(url: str):
    """Navigate: htmx follows HX-Redirect, a plain form follows 303."""
    if is_htmx():
        return "", 200, {"HX-Redirect": url}
    return redirect(url, 303)


# --- The form (the API's rules for the writable fields it shows) --------------------------------

def _text(form: MultiDict, attr: str, label: str, limit: int, *, trim: bool, required: bool,
          data: dict, problems: list[FieldMessage]) -> None:
    """One text field: blank, max_length and unsafe_content, as the API parses it."""
    value = form.get(attr, "")
    value = value.strip() if trim else value
    if required and not value.strip():
        problems.append(FieldMessage("blank", "This field may not be blank.", attr))
    elif len(value) > limit:
        problems.append(FieldMessage("max_length", f"Ensure this field has no more than {limit} characters.", attr))
    elif (unsafe := workflows.unsafe_content(label, value)) is not None:
        problems.append(FieldMessage("unsafe_content", unsafe, attr))
    else:
        data[attr] = value


def _retries(form: MultiDict, data: dict, problems: list[FieldMessage]) -> None:
    raw = form.get("max_file_execution_count", "").strip()
    if not raw:
        data["max_file_execution_count"] = None
    elif not raw.isdigit():
        problems.append(FieldMessage("invalid", "A valid integer is required.", "max_file_execution_count"))
    elif int(raw) < 1:
        problems.append(FieldMessage("min_value", "Ensure this value is greater than or equal to 1.",
                                     "max_file_execution_count"))
    else:
        data["max_file_execution_count"] = int(raw)


def parse_form(form: MultiDict, *, retries: bool = False) -> tuple[dict, list[FieldMessage]]:
    """The valid part of a create/edit post and its field errors; the service adds its own (unique)."""
    data: dict = {}
    problems: list[FieldMessage] = []
    _text(form, "workflow_name", "Workflow name", workflow_pages.workflow_name_limit(), trim=True,
          required=True, data=data, problems=problems)
    _text(form, "description", "Description", workflow_pages.description_limit(), trim=False,
          required=False, data=data, problems=problems)
    if retries:
        _retries(form, data, problems)
    return data, problems


def _values(form: MultiDict | dict) -> dict:
    keys = ("workflow_name", "description", "max_file_execution_count")
    return {key: "" if form.get(key) is None else str(form.get(key)) for key in keys}


# --- List -------------------------------------------------------------------------------------

def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() else 1


@bp.get("/")
@login_required
def index():
    """Workflows visible in the current organization; htmx asks for the table only (search, pages)."""
    who = current_requester()
    listing = workflow_pages.list_page(who, search=request.args.get("search", "").strip(), page=_page_number())
    if is_htmx() and not request.headers.get("HX-Boosted"):
        return render_template("workflows/_table.html", listing=listing)
    return render_template("workflows/index.html", listing=listing, values=_values({}), errors={})


@bp.put("/workflows/<uuid:workflow_id>/active")
@bp.post("/workflows/<uuid:workflow_id>/active")
@login_required
def toggle_active(workflow_id: uuid.UUID):
    """Flip the active switch (owners); htmx gets the row back, a plain form goes back to the list."""
    who = current_requester()
    workflow = get_visible_workflow(who, workflow_id, owner=True)
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
        created = workflows.create(who, data, problems)
    except ValidationFailed as exc:
        template = "workflows/_create_form.html" if is_htmx() else "workflows/new.html"
        return render_template(template, values=_values(request.form), errors=errors_by_attr(exc.messages)), 400
    flash(f"Workflow “{created['workflow_name']}” created.", "success")
    return hx_redirect(url_for(".detail", workflow_id=created["id"]))


@bp.route("/workflows/<uuid:workflow_id>/edit", methods=["GET", "POST"])
@login_required
def edit(workflow_id: uuid.UUID):
    """Rename, describe, set the retry limit (owners)."""
    who = current_requester()
    workflow = get_visible_workflow(who, workflow_id, owner=True)
    if request.method == "GET":
        stored = {"workflow_name": workflow.workflow_name, "description": workflow.description,
                  "max_file_execution_count": workflow.max_file_execution_count}
        return _edit_page(workflow, _values(stored), {})
    data, problems = parse_form(request.form, retries=True)
    try:
        workflows.update(who, workflow, data, problems)
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
    who = current_requester()
    workflow = get_visible_workflow(who, workflow_id, owner=True)
    if request.method == "GET":
        return render_template("workflows/delete.html", workflow_id=workflow.id, name=workflow.workflow_name)
    name = workflow.workflow_name
    workflows.delete_workflow(workflow, current_app.config["UNSTRACT_SETTINGS"].data_dir)
    if is_htmx() and request.headers.get("HX-Target") == row_id(workflow_id):
        return ""
    flash(f"Workflow “{name}” deleted.", "success")
    return hx_redirect(url_for(".index"))


# The rest of the workflows area registers its routes on `bp` (detail, tools, runs).
from unstract.web import runs_pages, workflow_detail_pages, workflow_tools_pages  # noqa: E402, F401
