"""Runs: the executions of every workflow the user may see, filtered by workflow, outcome and date range.

The per-workflow list (web/executions_pages.py) follows the API's owners-only rule; this page shows what
the execution pages themselves show: runs of visible workflows (as the overview counts them).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, render_template, request
from flask_login import login_required

from unstract.extensions import db
from unstract.models import Execution, Workflow
from unstract.policy import Requester, visible_workflows
from unstract.services import execution_pages as pages
from unstract.services.execution_queries import RunFilter, runs_query
from unstract.services.run_status import OUTCOMES, outcome_label
from unstract.web.context import current_requester, is_htmx, request_page
from unstract.web.executions_pages import template_helpers

bp = Blueprint("web_runs", __name__)
bp.context_processor(template_helpers)

PAGE_SIZE = 25
DATE_HINT = "Enter a date as YYYY-MM-DD."


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def parse_filter(who: Requester, args, choices: dict[str, str]) -> tuple[RunFilter, dict[str, str]]:
    """The filter the query string describes, and a message per input it could not read."""
    problems: dict[str, str] = {}
    raw_workflow = args.get("workflow", "")
    if raw_workflow and raw_workflow not in choices:  # unknown, malformed or invisible: all the same to the user
        problems["workflow"] = "Choose a workflow from the list."
    outcomes = [value for value in args.getlist("status") if value]
    if any(value not in OUTCOMES for value in outcomes):
        problems["status"] = "Choose among " + ", ".join(outcome_label(key) for key in OUTCOMES) + "."
    days = {}
    for name in ("from", "to"):
        raw = args.get(name, "")
        days[name] = _day(raw) if raw else None
        if raw and days[name] is None:
            problems[name] = DATE_HINT
    if days["from"] and days["to"] and days["from"] > days["to"]:
        problems["to"] = "The end date is before the start date."
    return RunFilter(
        workflow_id=uuid.UUID(raw_workflow) if raw_workflow and "workflow" not in problems else None,
        outcomes=[] if "status" in problems else outcomes,
        created_from=_utc_midnight(days["from"]) if days["from"] else None,
        created_before=_utc_midnight(days["to"] + timedelta(days=1)) if days["to"] else None,
    ), problems


def workflow_choices(who: Requester) -> dict[str, str]:
    """Visible workflows by id text, in name order, for the workflow filter."""
    query = visible_workflows(who).with_only_columns(Workflow.id, Workflow.workflow_name).order_by(
        Workflow.workflow_name, Workflow.id)
    return {str(row.id): row.workflow_name for row in db.session.execute(query)}


@bp.get("/executions")
@login_required
def index():
    """Runs of all visible workflows, newest first; htmx gets the list alone."""
    who = current_requester()
    choices = workflow_choices(who)
    flt, problems = parse_filter(who, request.args, choices)
    rows = None
    if not problems:
        query = runs_query(who, flt).order_by(Execution.created_at.desc(), Execution.id)
        rows = pages.page_of(query, request_page(), PAGE_SIZE)
    form = {"workflow": request.args.get("workflow", ""), "status": request.args.getlist("status"),
            "from": request.args.get("from", ""), "to": request.args.get("to", "")}
    filtered = any((form["workflow"], form["status"], form["from"], form["to"]))
    template = "executions/_list.html" if is_htmx() else "executions/runs.html"
    return render_template(template, page=rows, problems=problems, form=form, workflow_choices=choices,
                           outcome_choices=OUTCOMES, workflow_names=choices, filtered=filtered,
                           all_workflows=True), 400 if problems else 200
