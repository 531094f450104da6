"""File history page: filter, page, delete one, bulk clear after a dry run, clear all markers (issue 4 item 5)."""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from unstract import errors
from unstract.models import FileHistory, Workflow
from unstract.policy import Requester, get_visible_workflow, is_owner
from unstract.schemas.file_history_input import FileHistoryQueryArgsSchema
from unstract.schemas.parsing import page_number, parse
from unstract.services import execution_pages as pages
from unstract.services import file_history, file_outcomes, workflows
from unstract.services.file_history import HistoryFilter
from unstract.web.context import current_requester, first_messages, is_htmx, request_page
from unstract.web.executions_pages import template_helpers
from unstract.web.formatting import plural

bp = Blueprint("web_history", __name__)
bp.context_processor(template_helpers)

PAGE_SIZE = 50
STATUS_CHOICES = ("COMPLETED", "ERROR")  # what the engine writes; the filter accepts every status
ORDERINGS = {"-created_at": "Newest first", "-modified_at": "Last processed",
             "-execution_count": "Most executions", "file_path": "Path"}
COUNT_BOUNDS = ("execution_count_min", "execution_count_max")
NAME_MISMATCH = "Type the workflow name exactly as shown to confirm."


# --- Request parsing ---------------------------------------------------------------------------

def parse_filters(source) -> tuple[dict, HistoryFilter, dict[str, str]]:
    """The API's file-history filters from query or form values: what to redisplay, the filter, field problems.
    Empty inputs are absent filters; repeated `status` values count as one comma list."""
    path = source.get("file_path", "")
    args = {"status": ",".join(source.getlist("status")), "file_path": path,
            **{name: source.get(name, "").strip() or None for name in COUNT_BOUNDS}}
    loaded, messages = parse(FileHistoryQueryArgsSchema(), args)
    problems = first_messages(messages)
    flt = HistoryFilter() if problems else loaded["filter"]
    statuses = loaded.get("status", ()) if problems else flt.statuses  # the valid part, when some is not
    form = {"status": list(statuses), **{name: source.get(name, "").strip() for name in COUNT_BOUNDS},
            "file_path": path,
            "ordering": source.get("ordering", "") if source.get("ordering") in ORDERINGS else "-created_at"}
    return form, flt, problems


# --- View data ---------------------------------------------------------------------------------

def _max_execution_count(workflow: Workflow) -> int:
    return file_outcomes.max_execution_count(workflow, current_app.config["UNSTRACT_SETTINGS"].max_file_execution_count)


def results_context(workflow: Workflow, who: Requester, source, **extra) -> dict:
    """The filtered, ordered page of rows and everything the results partial shows."""
    form, flt, problems = parse_filters(source)
    page = None
    if not problems:
        order = file_history.HISTORY_ORDERING[form["ordering"].lstrip("-")]
        order = order.desc() if form["ordering"].startswith("-") else order.asc()
        query = file_history.histories_query(workflow, flt).order_by(order, FileHistory.id)
        page = pages.page_of(query, _page(source), PAGE_SIZE)
    return {"workflow": workflow, "owner": is_owner(workflow, who), "form": form, "problems": problems,
            "page": page, "filtered": not flt.is_empty, "limit": _max_execution_count(workflow),
            "status_choices": STATUS_CHOICES, "orderings": ORDERINGS,
            "list_url": lambda number: list_url(workflow, form, number), **extra}


def _page(source) -> int:
    return page_number(source.get("page"), default=request_page())


def render_page(workflow: Workflow, who: Requester, source, *, status: int = 200, **extra):
    """The full history page."""
    context = results_context(workflow, who, source, **extra)
    context.setdefault("total", _total(workflow))
    context.setdefault("marker_errors", {})
    return render_template("history/index.html", **context), 400 if context["problems"] else status


def _total(workflow: Workflow) -> int:
    return pages.count_rows(file_history.histories_query(workflow))


def list_url(workflow: Workflow, form: dict, number: int | None = None) -> str:
    """The list's URL with these filters (and page)."""
    args = {key: value for key, value in form.items() if value and not (key == "ordering" and value == "-created_at")}
    if number and number > 1:
        args["page"] = number
    return url_for("web_history.index", workflow_id=workflow.id, **args)


def back_to_list(workflow: Workflow, source):
    """Post/redirect/get to the list with the same filters."""
    return redirect(list_url(workflow, parse_filters(source)[0], _page(source)), 303)


# --- Routes ------------------------------------------------------------------------------------

@bp.get("/workflows/<uuid:workflow_id>/history")
@login_required
def index(workflow_id: uuid.UUID):
    """A workflow's file history with the API's filters; visible workflows."""
    who = current_requester()
    workflow = get_visible_workflow(who, workflow_id)
    if not is_htmx():
        return render_page(workflow, who, request.args)
    context = results_context(workflow, who, request.args)
    return render_template("history/_results.html", **context), 400 if context["problems"] else 200


@bp.get("/workflows/<uuid:workflow_id>/history/<uuid:history_id>")
@login_required
def entry(workflow_id: uuid.UUID, history_id: uuid.UUID):
    """One entry: its table row for htmx (Cancel), else a page with its result and error."""
    who = current_requester()
    workflow = get_visible_workflow(who, workflow_id)
    row = file_history.get_history(workflow, history_id)
    template = "history/_row.html" if is_htmx() else "history/entry.html"
    metadata = row.metadata_ or {}
    return render_template(template, workflow=workflow, row=row, owner=is_owner(workflow, who),
                           limit=_max_execution_count(workflow), pretty_json=pages.pretty_json,
                           execution_id=stored_uuid(metadata.get("execution_id")),
                           file_execution_id=stored_uuid(metadata.get("file_execution_id")))


def stored_uuid(value) -> uuid.UUID | None:
    """A UUID kept as text in an entry's metadata (rows written before it was kept have none)."""
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


@bp.get("/workflows/<uuid:workflow_id>/history/<uuid:history_id>/delete")
@login_required
def confirm_delete(workflow_id: uuid.UUID, history_id: uuid.UUID):
    """Ask before deleting one entry (owners): an inline row for htmx, else a page."""
    workflow = get_visible_workflow(current_requester(), workflow_id, owner=True)
    row = file_history.get_history(workflow, history_id)
    template = "history/_confirm_row.html" if is_htmx() else "history/confirm_delete.html"
    return render_template(template, workflow=workflow, row=row, page_no=request_page())


@bp.post("/workflows/<uuid:workflow_id>/history/<uuid:history_id>/delete")
@login_required
def delete(workflow_id: uuid.UUID, history_id: uuid.UUID):
    """Delete one entry (404 when not this workflow's, 403 for non-owners)."""
    who = current_requester()
    workflow = get_visible_workflow(who, workflow_id)
    path = _label(file_history.get_history(workflow, history_id))
    file_history.delete_history(who, workflow, history_id)
    notice = f"Deleted the history of {path}; the file will be processed again on the next run."
    if not is_htmx():
        flash(notice, "success")
        return back_to_list(workflow, request.form)
    return render_template("history/_results.html", **results_context(workflow, who, request.form, notice=notice))


def _label(row: FileHistory) -> str:
    return row.file_path or (row.metadata_ or {}).get("file_name") or "the upload"


@bp.post("/workflows/<uuid:workflow_id>/history/clear")
@login_required
def clear(workflow_id: uuid.UUID):
    """Bulk clear with the list's filters, as POST …/file-histories/clear/: a dry run to confirm, then the delete."""
    who = current_requester()
    workflow = get_visible_workflow(who, workflow_id, owner=True)
    form, flt, problems = parse_filters(request.form)
    if problems:
        return _clear_refused(workflow, who, problems)
    dry_run = request.form.get("confirm") != "yes"
    try:
        count = file_history.clear_histories(workflow, flt, dry_run=dry_run)
    except errors.ValidationFailed as exc:
        return _clear_refused(workflow, who, {"filters": exc.messages[0].detail})
    return _cleared(workflow, who, form, count, dry_run)


def _clear_refused(workflow: Workflow, who: Requester, problems: dict):
    if is_htmx():  # into the confirmation slot, whichever of the two clear forms asked
        html = render_template("history/_clear_confirm.html", problems=problems, workflow=workflow)
        return html, 400, {"HX-Retarget": "#clear-confirm", "HX-Reswap": "innerHTML"}
    return render_page(workflow, who, request.form, status=400, clear_problems=problems)


def _cleared(workflow: Workflow, who: Requester, form: dict, count: int, dry_run: bool):
    """Dry run: ask to confirm the count. Delete: the refreshed list (htmx) or a redirect with a message."""
    if dry_run:
        context = {"workflow": workflow, "form": form, "dry_count": count, "problems": {}}
        if is_htmx():
            return render_template("history/_clear_confirm.html", **context)
        return render_page(workflow, who, request.form, confirm=context)
    notice = f"{plural(count, 'entry', 'entries')} deleted."
    if not is_htmx():
        flash(notice, "success")
        return back_to_list(workflow, request.form)
    return render_template("history/_results.html", **results_context(workflow, who, request.form, notice=notice))


@bp.post("/workflows/<uuid:workflow_id>/history/clear-markers")
@login_required
def clear_markers(workflow_id: uuid.UUID):
    """Clear every marker (clear-file-marker) once the user typed the workflow name; the server checks it too."""
    who = current_requester()
    workflow = get_visible_workflow(who, workflow_id, owner=True)
    if not pages.workflow_name_matches(workflow, request.form.get("workflow_name", "")):
        return _markers_refused(workflow, who)
    deleted = workflows.clear_file_marker(workflow)
    notice = f"File marker cleared successfully: {plural(deleted, 'entry', 'entries')} deleted."
    if not is_htmx():
        flash(notice, "success")
        return back_to_list(workflow, request.form)
    context = results_context(workflow, who, request.form, notice=notice, total=0, marker_errors={})
    return render_template("history/_results.html", refresh_markers=True, **context)


def _markers_refused(workflow: Workflow, who: Requester):
    marker_errors = {"workflow_name": [NAME_MISMATCH]}
    if not is_htmx():
        return render_page(workflow, who, request.form, status=400, marker_errors=marker_errors)
    html = render_template("history/_markers.html", workflow=workflow, marker_errors=marker_errors,
                           total=_total(workflow))
    return html, 400, {"HX-Retarget": "#markers", "HX-Reswap": "outerHTML"}
