"""LLM usage recorded per file execution and execution, and its representation (docs/EXECUTION.md, Usage and cost)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, select, update

from unstract import errors
from unstract.extensions import db
from unstract.models import Execution, FileExecution, Workflow
from unstract.models.base import utcnow
from unstract.policy import Requester, get_visible_workflow, visible_workflows

USAGE_COLUMNS = ("prompt_tokens", "completion_tokens", "llm_calls", "cost_usd")


def add_usage(execution_id: uuid.UUID, file_execution_id: uuid.UUID, metadata: dict[str, Any] | None) -> None:
    """Stage the addition of one tool run's usage to its file and its execution (the caller commits)."""
    if not metadata or not metadata.get("llm_calls"):
        return
    tokens = metadata.get("usage") or {}
    prompt, completion = int(tokens.get("prompt_tokens") or 0), int(tokens.get("completion_tokens") or 0)
    calls, cost = int(metadata["llm_calls"]), metadata.get("cost_usd")
    for model, key in ((FileExecution, file_execution_id), (Execution, execution_id)):
        values = {"prompt_tokens": model.prompt_tokens + prompt,
                  "completion_tokens": model.completion_tokens + completion,
                  "llm_calls": model.llm_calls + calls}
        if cost is not None:
            values["cost_usd"] = case((model.cost_usd.is_(None), float(cost)), else_=model.cost_usd + float(cost))
        db.session.execute(update(model).where(model.id == key).values(**values)
                           .execution_options(synchronize_session=False))


def present_usage(row) -> dict[str, Any]:
    """The `usage` object of a representation from a row's usage columns."""
    prompt, completion = row.prompt_tokens or 0, row.completion_tokens or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "llm_calls": row.llm_calls or 0, "cost_usd": None if row.cost_usd is None else round(row.cost_usd, 8)}


# --- GET usage/ ----------------------------------------------------------------------------------

DEFAULT_DAYS = 30


def _empty() -> dict[str, Any]:
    return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "llm_calls": 0, "cost_usd": None}


def _add(into: dict[str, Any], row) -> None:
    into["prompt_tokens"] += row.prompt_tokens or 0
    into["completion_tokens"] += row.completion_tokens or 0
    into["total_tokens"] = into["prompt_tokens"] + into["completion_tokens"]
    into["llm_calls"] += row.llm_calls or 0
    if row.cost_usd is not None:
        into["cost_usd"] = round((into["cost_usd"] or 0.0) + row.cost_usd, 8)


def report(who: Requester, first: date | None, last: date | None, workflow_id: uuid.UUID | None) -> dict[str, Any]:
    """GET usage/: totals, per UTC day of the execution's start and per workflow, over visible workflows."""
    last = last or utcnow().date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise errors.field_error("from", "invalid", "`from` must not be after `to`.")
    workflows = visible_workflows(who)
    if workflow_id is not None:
        get_visible_workflow(who, workflow_id)
        workflows = workflows.where(Workflow.id == workflow_id)
    visible = workflows.with_only_columns(Workflow.id, Workflow.workflow_name).subquery()
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = datetime.combine(last, time.max, tzinfo=UTC)  # not the next midnight: `to` may be 9999-12-31
    rows = db.session.execute(
        select(Execution.created_at, Execution.workflow_id, visible.c.workflow_name,
               *(getattr(Execution, name) for name in USAGE_COLUMNS))
        .join(visible, visible.c.id == Execution.workflow_id)
        .where(Execution.created_at >= start, Execution.created_at <= end, Execution.llm_calls > 0))
    totals, days, flows = _empty(), {}, {}
    for row in rows:
        _add(totals, row)
        _add(days.setdefault(row.created_at.astimezone(UTC).date().isoformat(), _empty()), row)
        _add(flows.setdefault((str(row.workflow_id), row.workflow_name), _empty()), row)
    return {"from": first.isoformat(), "to": last.isoformat(), "totals": totals,
            "by_day": [{"date": day, **values} for day, values in sorted(days.items())],
            "by_workflow": [{"workflow": wid, "workflow_name": name, **values}
                            for (wid, name), values in sorted(flows.items(), key=lambda item: item[0][1])]}


def per_day(who: Requester, days: list[date]) -> dict[str, Any]:
    """The overview's usage: one row per day of `days` (zeros where no LLM ran) and the totals."""
    found = report(who, days[0], days[-1], None)
    by_date = {row["date"]: row for row in found["by_day"]}
    rows = [{"day": day, **by_date.get(day.isoformat(), {"date": day.isoformat(), **_empty()})} for day in days]
    return {"rows": rows, "totals": found["totals"]}
