"""Tool instance use cases: the ordered processing steps of a workflow.

Steps are always exactly 1..n: every write re-reads the workflow's instances under a row lock on the
workflow (PostgreSQL; SQLite serialises writers itself) and renumbers them in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select

from unstract import errors
from unstract.errors import FieldMessage
from unstract.extensions import db
from unstract.models import ToolInstance, Workflow
from unstract.policy import Requester, get_visible_workflow
from unstract.schemas.representations import ToolInstanceSchema, read_attributes, row_values
from unstract.services import adapters
from unstract.services.validation import raise_if_any
from unstract.tools.registry import TOOLS, load_tool_settings

# Body fields in their documented order; error entries follow this order.
FIELDS = ("workflow_id", "tool_id", "metadata", "step")
TOOL_IDS = tuple(sorted(TOOLS))
TOOL_INSTANCE_ATTRIBUTES = read_attributes(ToolInstanceSchema, ToolInstance)


# --- Reading -------------------------------------------------------------------------------------

def tools() -> list[dict]:
    """GET tool/ items, ordered by tool_id."""
    return [TOOLS[tool_id].as_dict() for tool_id in TOOL_IDS]


def list_query(workflow: Workflow) -> Select:
    return (select(ToolInstance).where(ToolInstance.workflow_id == workflow.id)
            .order_by(ToolInstance.step, ToolInstance.id))


def get_instance(who: Requester, instance_id: uuid.UUID, *, owner: bool = False) -> ToolInstance:
    """A tool instance whose workflow is visible (404 otherwise); 403 when `owner` is needed and missing."""
    instance = db.session.get(ToolInstance, instance_id)
    if instance is None:
        raise errors.NotFound()
    get_visible_workflow(who, instance.workflow_id, owner=owner)
    return instance


def present(instance: ToolInstance) -> dict:
    """The tool instance representation: the values its schema dumps."""
    return row_values(instance, TOOL_INSTANCE_ATTRIBUTES)


# --- Validation ----------------------------------------------------------------------------------

def _messages(problems: Sequence[FieldMessage]) -> list[FieldMessage]:
    return list(problems)


def _adapter_problems(org_id: uuid.UUID, tool_id: str, settings: dict | None) -> list[FieldMessage]:
    """An llm_extractor's adapter must be one of the workflow's organization (checked at save)."""
    if settings is None or tool_id != adapters.LLM_TOOL or adapters.find(org_id, settings["adapter_id"]):
        return []
    return [FieldMessage("invalid", "Unknown adapter: not an adapter of this organization.", "metadata.adapter_id")]


def checked_settings(instance: ToolInstance, metadata: Any) -> dict:
    """The settings a save of `metadata` would store, checked as a save checks them (ValidationFailed),
    without saving: what the dashboard's trial on a sample document runs."""
    settings, problems = load_tool_settings(instance.tool_id, metadata)
    messages = [*_messages(problems),
                *_adapter_problems(instance.workflow.organization_id, instance.tool_id, settings)]
    raise_if_any(messages, FIELDS)
    return settings


def _too_high(limit: int) -> FieldMessage:
    return FieldMessage("max_value", f"Ensure this value is less than or equal to {limit}.", "step")


# --- Steps ---------------------------------------------------------------------------------------

def _steps(workflow_id: uuid.UUID) -> list[ToolInstance]:
    """The workflow's instances in step order, read under a lock on the workflow row."""
    db.session.execute(select(Workflow.id).where(Workflow.id == workflow_id).with_for_update())
    query = (select(ToolInstance).where(ToolInstance.workflow_id == workflow_id)
             .order_by(ToolInstance.step, ToolInstance.created_at, ToolInstance.id)
             .execution_options(populate_existing=True))
    return list(db.session.scalars(query))


def _steps_with(instance: ToolInstance) -> list[ToolInstance]:
    """The steps of the instance's workflow; 404 when the instance went away meanwhile."""
    instances = _steps(instance.workflow_id)
    if instance not in instances:
        raise errors.NotFound()
    return instances


def _renumber(instances: list[ToolInstance]) -> None:
    """Give the instances the steps 1..n in list order."""
    for step, instance in enumerate(instances, start=1):
        if instance.step != step:
            instance.step = step


# --- Writing -------------------------------------------------------------------------------------

def create(who: Requester, data: dict, field_errors: Sequence[FieldMessage]) -> dict:
    """POST tool_instance/: body first (docs/API.md, Order of checks), then the workflow (404/403), then the step."""
    messages = list(field_errors)
    settings = None
    if "tool_id" in data and "metadata" in data:
        settings, problems = load_tool_settings(data["tool_id"], data["metadata"])
        messages.extend(_messages(problems))
    messages.extend(_adapter_problems(who.org.id, data.get("tool_id"), settings))
    raise_if_any(messages, FIELDS)
    workflow = get_visible_workflow(who, data["workflow_id"], owner=True)
    instances = _steps(workflow.id)
    step = data.get("step", len(instances) + 1)
    if step > len(instances) + 1:
        raise_if_any([_too_high(len(instances) + 1)], FIELDS)
    instance = ToolInstance(workflow_id=workflow.id, tool_id=data["tool_id"], metadata_=settings, step=step)
    db.session.add(instance)
    instances.insert(step - 1, instance)
    _renumber(instances)
    db.session.commit()
    return present(instance)


def update(instance: ToolInstance, data: dict, field_errors: Sequence[FieldMessage]) -> dict:
    """PATCH tool_instance/{id}/: metadata and/or step (1..n); tool and workflow never change."""
    messages = list(field_errors)
    settings = None
    if "metadata" in data:
        settings, problems = load_tool_settings(instance.tool_id, data["metadata"])
        messages.extend(_messages(problems))
        messages.extend(_adapter_problems(instance.workflow.organization_id, instance.tool_id, settings))
    instances = _steps_with(instance)
    if "step" in data and data["step"] > len(instances):
        messages.append(_too_high(len(instances)))
    raise_if_any(messages, FIELDS)
    if settings is not None:
        instance.metadata_ = settings
    if "step" in data:
        instances.remove(instance)
        instances.insert(data["step"] - 1, instance)
        _renumber(instances)
    db.session.commit()
    return present(instance)


def delete_instance(instance: ToolInstance) -> None:
    """DELETE tool_instance/{id}/: later steps move up by one."""
    instances = _steps_with(instance)
    instances.remove(instance)
    db.session.delete(instance)
    _renumber(instances)
    db.session.commit()
