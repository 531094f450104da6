"""Executions pages: a workflow's executions, and one execution watched live (issue 4 item 4)."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.routing import BuildError

from unstract import errors
from unstract.auth import API_BASE
from unstract.models import STATUS_VALUES, Execution, LogLevel, Workflow
from unstract.policy import Requester, get_visible_workflow, is_owner
from unstract.schemas.execution_input import ExecutionQueryArgsSchema, LogQueryArgsSchema
from unstract.schemas.fields import Text, integer_text, one_of
from unstract.schemas.parsing import parse, parse_value
from unstract.services import execution_pages as pages
from unstract.services import execution_queries as queries
from unstract.services import results_export, retries, usage
from unstract.services.executions import ExecuteCommand, execute
from unstract.web.context import current_requester, first_messages, is_htmx, request_page
from unstract.web.formatting import clock, duration, number, plural

bp = Blueprint("web_executions", __name__)

LIST_PAGE_SIZE = 25
FILES_PAGE_SIZE = 100
LOG_TAIL = 500  # rows shown when the panel (re)loads
LOG_BATCH = 500  # rows appended per poll (or prepended per "show earlier" click) at most
LOG_KEEP = 1000  # rows the page keeps while following a run: static/js/logs.js drops older ones
JSON_DEPTH = 12  # the result viewer folds nesting this deep; deeper values show as indented text
FILE_NAME_MAX = 255  # as long as a stored file name
ACTION = Text(validate=one_of(("STOP", "NEXT", "CONTINUE")))  # the actions a page offers
LOG_ARGS = ("log_level", "file_execution_id", "after")
STOP_POLLING = 286  # htmx cancels a polling trigger on this status
SWAPPED_STATUSES = (200, 400, 409)  # static/app.js lets htmx swap these; other refusals answer 200 + message


# --- Helpers for the templates of this area ---------------------------------------------------

def page_url(page_no: int) -> str:
    """This request's URL (same query) on another page."""
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page_no)]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def workflow_url(workflow: Workflow) -> str:
    """The workflow's own page when the workflows area has one, else the workflows list."""
    try:
        return url_for("web_workflows.detail", workflow_id=workflow.id)
    except BuildError:
        return url_for("web_workflows.index")


def template_helpers() -> dict:
    return {"duration": duration, "number": number, "plural": plural, "clock": clock, "page_url": page_url,
            "workflow_url": workflow_url}


bp.context_processor(template_helpers)


# --- Request parsing ---------------------------------------------------------------------------

def parse_statuses(values: list[str]) -> tuple[list[str], str | None]:
    """Statuses from repeated or comma-separated `status` values, read as the API reads them (exact upper case)."""
    loaded, messages = parse(ExecutionQueryArgsSchema(only=("status",)), {"status": ",".join(values)})
    return ([], messages[0].detail) if messages else (list(loaded["status"]), None)


def parse_file_filter(args) -> tuple[pages.FileFilter, str | None]:
    """The file list's `file_status` (repeated or comma-separated), `file_name` and `failed_first` (1)."""
    statuses, problem = parse_statuses(args.getlist("file_status"))
    problem = problem and f"Status: {problem}"
    name = args.get("file_name", "").strip()
    failed_first = args.get("failed_first", "")
    if problem is None and len(name) > FILE_NAME_MAX:
        problem = f"Name: at most {FILE_NAME_MAX} characters."
    if problem is None and failed_first not in ("", "1"):
        problem = "Failed first: use 1 to list failed files first."
    if problem:
        return pages.FileFilter(), problem
    return pages.FileFilter(tuple(statuses), name, failed_first == "1"), None


def file_args(flt: pages.FileFilter) -> dict:
    """The query arguments that select `flt` again (for the pager and the live poll)."""
    args = {"file_status": list(flt.statuses), "file_name": flt.name, "failed_first": "1" if flt.failed_first else ""}
    return {name: value for name, value in args.items() if value}


def parse_before(args) -> tuple[int | None, str | None]:
    """`before`, the id of the oldest log row the page shows (for a page of earlier rows)."""
    raw = args.get("before")
    if raw is None:
        return None, None
    before = integer_text(raw)
    if before is None or before < 1:
        return None, "A log row id (a positive whole number) is expected."
    return before, None


def parse_log_filter(args) -> tuple[queries.LogFilter, dict[str, str]]:
    """`log_level`, `file_execution_id` and `after` as the API reads them; empty inputs are absent."""
    present = {name: args[name] for name in LOG_ARGS if args.get(name, "") != ""}
    loaded, messages = parse(LogQueryArgsSchema(), present)
    if messages:  # the valid level stays chosen in the panel
        return queries.LogFilter(min_level=loaded.get("log_level")), first_messages(messages)
    return loaded, {}


# --- View data ---------------------------------------------------------------------------------

def live_context(execution: Execution, workflow: Workflow, who: Requester, *, message: str | None = None,
                 file_filter: pages.FileFilter | None = None, filter_problem: str | None = None) -> dict:
    """What the live header and the file table show; every destination's results are listed."""
    flt = file_filter or pages.FileFilter()
    files = pages.page_of(pages.file_list_query(execution, flt), request_page(), FILES_PAGE_SIZE)
    counts = pages.file_status_counts(execution)
    args = file_args(flt)
    return {"execution": execution, "workflow": workflow, "files": files, "message": message,
            "results": pages.small_results([fe.id for fe in files.items]),
            "counts": counts, "elapsed": pages.elapsed_seconds(execution), "usage": usage.present_usage(execution),
            "pretty_json": pages.pretty_json,
            "api_execution": f"{API_BASE}{who.org.org_id}/workflow/execution/{execution.id}/",
            "owner": is_owner(workflow, who), "retried_by": pages.retries_of(execution.id),
            "retryable": execution.is_terminal and bool(counts.get("ERROR") or counts.get("STOPPED")),
            "capped": execution.run_plan.capped, "file_filter": flt, "filter_problem": filter_problem,
            "file_status_choices": STATUS_VALUES, "filtered": bool(args),
            "files_url": lambda n: url_for("web_executions.detail", execution_id=execution.id, page=n, **args)}


def log_context(execution: Execution, flt: queries.LogFilter, problems: dict, window=None) -> dict:
    """What the log panel shows: rows, cursor, filters and whether to keep polling."""
    if window is None:
        window = pages.LogWindow([], 0, False) if problems else pages.log_tail(execution, flt, LOG_TAIL)
    return {"execution": execution, "log_filter": flt, "log_problems": problems, "window": window,
            "names": pages.file_names([row.file_execution_id for row in window.rows]),
            "polling": not problems and (not execution.is_terminal or window.more),
            "level_choices": tuple(LogLevel), "scope": request.args.get("file_execution_id", ""),
            "log_keep": LOG_KEEP}


def earlier_context(execution: Execution, flt: queries.LogFilter, before: int) -> dict:
    """A page of rows before row `before`, and the "show earlier" control for the rows before those."""
    window = pages.log_before(execution, flt, before, LOG_BATCH)
    return {"execution": execution, "log_filter": flt, "window": window, "earlier": window.more,
            "earliest": window.cursor, "names": pages.file_names([row.file_execution_id for row in window.rows]),
            "scope": request.args.get("file_execution_id", "")}


def panel_context(execution: Execution, flt: queries.LogFilter, problems: dict) -> dict:
    """The whole log panel, with the file filter's choices (`known`: how many it lists)."""
    choices = pages.file_choices(execution)
    return {**log_context(execution, flt, problems), "file_choices": choices, "known": len(choices)}


def poll_context(execution: Execution, flt: queries.LogFilter) -> dict:
    """Rows after the cursor; the file filter's choices too once the listing added files it lacks."""
    raw = request.args.get("known_files", "")
    known = integer_text(raw)
    refresh = known not in (None, execution.total_files)
    return {**log_context(execution, flt, {}, pages.log_after(execution, flt, LOG_BATCH)),
            "file_choices": pages.file_choices(execution) if refresh else None,
            "known": execution.total_files if refresh else known}


def render_detail(execution: Execution, workflow: Workflow, who: Requester, flt, problems, *,
                  message: str | None = None, status: int = 200, **files):
    """The full execution page (`files`: the file list's filter and its problem, see live_context)."""
    context = {**live_context(execution, workflow, who, message=message, **files),
               **panel_context(execution, flt, problems)}
    return render_template("executions/detail.html", **context), status


def lookup(who: Requester, execution_id: uuid.UUID) -> tuple[Execution, Workflow]:
    """The visible execution; an htmx poll for one that is gone (or hidden now) is told to stop (286)."""
    try:
        return queries.get_visible_execution(who, execution_id)
    except errors.NotFound:
        if is_htmx() and request.method == "GET":
            abort(Response(status=STOP_POLLING))
        raise


# --- Routes ------------------------------------------------------------------------------------

@bp.get("/workflows/<uuid:workflow_id>/executions")
@login_required
def index(workflow_id: uuid.UUID):
    """A workflow's executions, newest first, filtered by status (owners only, like GET workflow/{id}/execution/)."""
    workflow = get_visible_workflow(current_requester(), workflow_id, owner=True)
    statuses, problem = parse_statuses(request.args.getlist("status"))
    query = queries.executions_query(workflow, statuses).order_by(Execution.created_at.desc(), Execution.id)
    rows = None if problem else pages.page_of(query, request_page(), LIST_PAGE_SIZE)
    template = "executions/_list.html" if is_htmx() else "executions/index.html"
    return render_template(template, workflow=workflow, page=rows, statuses=statuses, problem=problem,
                           status_choices=STATUS_VALUES), 400 if problem else 200


@bp.get("/executions/<uuid:execution_id>")
@login_required
def detail(execution_id: uuid.UUID):
    """One execution: live header, file table and log panel; htmx polls get the header and table."""
    who = current_requester()
    execution, workflow = lookup(who, execution_id)
    file_filter, problem = parse_file_filter(request.args)
    files = {"file_filter": file_filter, "filter_problem": problem}
    status = 400 if problem else 200
    if is_htmx():
        return render_template("executions/_live.html", **live_context(execution, workflow, who, **files)), status
    return render_detail(execution, workflow, who, queries.LogFilter(), {}, status=status, **files)


@bp.get("/executions/<uuid:execution_id>/files/<uuid:file_execution_id>")
@login_required
def file_result(execution_id: uuid.UUID, file_execution_id: uuid.UUID):
    """One file's result as a JSON viewer, with its error and a download of the result."""
    who = current_requester()
    execution, workflow = queries.get_visible_execution(who, execution_id)
    fe = results_export.file_result(execution.id, file_execution_id)
    if fe is None:
        raise errors.NotFound()
    return render_template("executions/file_result.html", execution=execution, workflow=workflow, fe=fe,
                           owner=is_owner(workflow, who), pretty_json=pages.pretty_json, json_depth=JSON_DEPTH,
                           api_execution=f"{API_BASE}{who.org.org_id}/workflow/execution/{execution.id}/")


@bp.get("/executions/<uuid:execution_id>/logs")
@login_required
def logs(execution_id: uuid.UUID):
    """The log panel: with `after`, only newer rows (appended); with `before`, a page of earlier rows
    (prepended); otherwise the whole filtered panel."""
    who = current_requester()
    execution, workflow = lookup(who, execution_id)
    flt, problems = parse_log_filter(request.args)
    before, before_problem = parse_before(request.args)
    if before_problem:
        problems = {**problems, "before": before_problem}
    status = 400 if problems else 200
    if is_htmx() and before is not None and not problems:
        return render_template("executions/_log_earlier_rows.html", **earlier_context(execution, flt, before))
    if not is_htmx():
        return render_detail(execution, workflow, who, flt, problems, status=status)
    if flt.after is None or problems:
        return render_template("executions/_log_panel.html", **panel_context(execution, flt, problems)), status
    # The execution's status was read before the rows, so a terminal answer never misses a row.
    return render_template("executions/_log_rows.html", **poll_context(execution, flt))


@bp.post("/executions/<uuid:execution_id>/action")
@login_required
def action(execution_id: uuid.UUID):
    """STOP, NEXT or CONTINUE through the execute protocol (docs/EXECUTION.md, The execute call; visible workflows)."""
    who = current_requester()
    execution, workflow = queries.get_visible_execution(who, execution_id)
    message, status = run_action(who, execution, workflow, request.form.get("action", ""))
    execution = pages.fresh_execution(execution_id)
    if is_htmx():
        context = live_context(execution, workflow, who, message=message)
        return render_template("executions/_live.html", **context), status if status in SWAPPED_STATUSES else 200
    if status == 200:
        return redirect(url_for("web_executions.detail", execution_id=execution_id), 303)
    return render_detail(execution, workflow, who, queries.LogFilter(), {}, message=message, status=status)


@bp.post("/executions/<uuid:execution_id>/retry")
@login_required
def retry(execution_id: uuid.UUID):
    """Run the failed and stopped files again (or only the one a row names) in a new execution, then show
    it (docs/EXECUTION.md, Retrying failed files)."""
    who = current_requester()
    execution, workflow = queries.get_visible_execution(who, execution_id)
    only, problem = parse_retry_choice(request.form)
    if problem:
        return render_detail(execution, workflow, who, queries.LogFilter(), {}, message=problem, status=400)
    try:
        new = retries.retry(who, execution_id, current_app.config["UNSTRACT_SETTINGS"], only=only)
    except errors.NotFound:
        raise
    except errors.DomainError as exc:
        return render_detail(execution, workflow, who, queries.LogFilter(), {}, message=exc.messages[0].detail,
                             status=exc.status)
    target = url_for("web_executions.detail", execution_id=new.id)
    if is_htmx():
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target, 303)


def parse_retry_choice(form) -> tuple[list[uuid.UUID] | None, str | None]:
    """The one file a row's retry button names (`file_execution_id`), or None for every failed file."""
    raw = form.get("file_execution_id")
    if raw is None:
        return None, None
    try:
        return [uuid.UUID(raw)], None
    except ValueError:
        return None, "That file is not one of this execution's files."


def run_action(who: Requester, execution: Execution, workflow: Workflow, name: str) -> tuple[str | None, int]:
    """Send one action with timeout 0; returns (message for the user, HTTP status)."""
    _, problems = parse_value(ACTION, name)
    if problems:
        return problems[0].detail, 400
    command = ExecuteCommand(workflow_id=workflow.id, execution_id=execution.id, action=name, timeout=0)
    try:
        execute(who, command, current_app.config["UNSTRACT_SETTINGS"])
    except errors.NotFound:
        raise
    except errors.DomainError as exc:
        return _action_message(exc), exc.status
    return None, 200


def _action_message(exc: errors.DomainError) -> str:
    if exc.messages[0].code == "invalid_execution_id":
        return "This execution cannot take that action any more (it may have finished)."
    return exc.messages[0].detail
