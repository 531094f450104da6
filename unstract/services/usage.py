"""LLM usage recorded per file execution and execution, and its representation (docs/EXECUTION.md, Usage and cost)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case, update

from unstract.extensions import db
from unstract.models import Execution, FileExecution

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
