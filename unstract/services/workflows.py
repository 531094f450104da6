"""Workflow use cases: list, create, update, toggle, delete, clear history, schema."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Select, bindparam, delete, func, not_, select
from sqlalchemy import update as update_rows

from unstract import errors, jsonschemas
from unstract.errors import FieldMessage
from unstract.extensions import db
from unstract.fastpath import start_writing, text_uuid, wire_column
from unstract.models import (
    NON_TERMINAL,
    EndpointType,
    Execution,
    FileExecution,
    FileHistory,
    FileReservation,
    Status,
    ToolInstance,
    User,
    Workflow,
    WorkflowEndpoint,
    WorkflowMembership,
    WorkflowRole,
)
from unstract.models.base import utcnow
from unstract.paging import list_columns
from unstract.policy import Requester, is_owner, visible_workflows
from unstract.schemas.representations import WorkflowSchema, WorkflowToolInstanceSchema, read_attributes, row_values
from unstract.services import sharing
from unstract.services.validation import commit_or_duplicate, raise_if_any
from unstract.services.wakeups import note_settled

# Writable fields in their documented order; error entries follow this order.
WRITABLE_FIELDS = (
    "workflow_name", "description", "is_active", "status", "deployment_type", "source_settings",
    "destination_settings", "max_file_execution_count", "shared_to_org", "shared_users",
)
ORDERING = {
    "workflow_name": Workflow.workflow_name,
    "created_at": Workflow.created_at,
    "modified_at": Workflow.modified_at,
}
DEFAULT_ORDERING = "-modified_at"
PRIMARY_KEY = Workflow.id
DUPLICATE_NAME = "A workflow with this name already exists."
# The API compares names exactly (docs/API.md, Visibility and ownership). The dashboard also
# refuses names differing only in case, which look the same in lists and logs (`ignore_case`), with the same
# 400 `unique` and without telling how the other workflow spells its name.
DUPLICATE_NAME_CASE = "A workflow with this name already exists (names are compared ignoring case)."
CANNOT_UPDATE = "Only an owner of the workflow or an organization admin can update it."
SCHEMA_TYPES = ("src", "dest")
SCHEMA_ENTITIES = ("file", "api", "db")

_UNSAFE_RULES = (
    (re.compile(r"<[a-z/!]", re.IGNORECASE), "must not contain HTML or script tags."),
    (re.compile(r"javascript:|vbscript:|data:[a-z]+/", re.IGNORECASE),
     "must not contain dangerous URI protocols."),
    (re.compile(r"\bon[a-z]+\s*=", re.IGNORECASE), "must not contain event handler attributes."),
)


def unsafe_content(label: str, value: str) -> str | None:
    """The `unsafe_content` message for `value` (checked trimmed), or None when it is safe."""
    text = value.strip()
    return next((f"{label} {message}" for pattern, message in _UNSAFE_RULES if pattern.search(text)), None)


# --- Reading -------------------------------------------------------------------------------------

def list_query(who: Requester, *, workflow_name: str | None = None, search: str | None = None,
               is_active: bool | None = None) -> Select:
    """Visible workflows matching the list filters of GET workflow/ (ordering is applied by the caller)."""
    query = visible_workflows(who)
    if workflow_name is not None:
        query = query.where(Workflow.workflow_name == workflow_name)
    if search:
        query = query.where(Workflow.workflow_name.icontains(search, autoescape=True))
    if is_active is not None:
        query = query.where(Workflow.is_active.is_(is_active))
    return query


@dataclass(frozen=True)
class Related:
    """What a workflow's representation shows from other tables; user ids as their canonical text."""

    owner_ids: frozenset[str] = frozenset()
    owner_emails: tuple[str, ...] = ()
    viewer_ids: tuple[str, ...] = ()
    creator_email: str | None = None
    tool_instances: tuple[dict, ...] = ()


def related_rows(workflows: Sequence) -> dict[str, Related]:
    """The memberships (with their users' e-mails) and tool instances of `workflows` (plain rows of
    LIST_COLUMNS), by workflow id: two queries whatever their number, read as plain rows with ids as
    text (unstract.fastpath), not as ORM objects (docs/PERFORMANCE.md, item 17)."""
    ids = [workflow.id for workflow in workflows]
    if not ids:
        return {}
    owners, viewers = _members_by_role(ids)
    tools = _tool_instances(ids)
    return {workflow.id: Related(owner_ids=frozenset(user_id for user_id, _ in owners[workflow.id]),
                                 owner_emails=tuple(email for _, email in owners[workflow.id]),
                                 viewer_ids=tuple(viewers[workflow.id]),
                                 creator_email=workflow.created_by_email,
                                 tool_instances=tuple(tools[workflow.id]))
            for workflow in workflows}


# Built once: a page's statements differ only in their ids.
_MEMBERS = (select(*(wire_column(column) for column in (WorkflowMembership.workflow_id, WorkflowMembership.role,
                                                         WorkflowMembership.user_id, User.email)))
            .join(User, User.id == WorkflowMembership.user_id)
            .where(text_uuid(WorkflowMembership.workflow_id).in_(bindparam("ids", expanding=True)))
            .order_by(WorkflowMembership.created_at, WorkflowMembership.id))


def _members_by_role(ids: list[str]) -> tuple[dict, dict]:
    """{workflow id: [(owner id, e-mail)]} and {workflow id: [viewer id]}, in membership order."""
    owners: dict[str, list] = {workflow_id: [] for workflow_id in ids}
    viewers: dict[str, list] = {workflow_id: [] for workflow_id in ids}
    for member in db.session.execute(_MEMBERS, {"ids": ids}):
        if member.role == WorkflowRole.OWNER:
            owners[member.workflow_id].append((member.user_id, member.email))
        elif member.role == WorkflowRole.VIEWER:
            viewers[member.workflow_id].append(member.user_id)
    return owners, viewers


def _tool_instances(ids: list[str]) -> dict[str, list[dict]]:
    tools: dict[str, list] = {workflow_id: [] for workflow_id in ids}
    for tool in db.session.execute(_TOOL_INSTANCES, {"ids": ids}):
        tools[tool.workflow_id].append(present_tool_instance(tool))
    return tools


TOOL_INSTANCE_ATTRIBUTES = read_attributes(WorkflowToolInstanceSchema, ToolInstance)
TOOL_INSTANCE_COLUMNS = list_columns(ToolInstance, TOOL_INSTANCE_ATTRIBUTES)
_TOOL_INSTANCES = (select(*TOOL_INSTANCE_COLUMNS)
                   .where(text_uuid(ToolInstance.workflow_id).in_(bindparam("ids", expanding=True)))
                   .order_by(ToolInstance.workflow_id, ToolInstance.step))
# What `present` reads of a workflow: its schema's columns, and the creator's e-mail (paging.page_rows).
WORKFLOW_ATTRIBUTES = read_attributes(WorkflowSchema, Workflow)
LIST_COLUMNS = (*WORKFLOW_ATTRIBUTES,
                select(User.email).where(User.id == Workflow.created_by).scalar_subquery().label("created_by_email"))


def present_tool_instance(tool) -> dict:
    """A tool instance (the model, or a row of TOOL_INSTANCE_COLUMNS) as the workflow representation shows it."""
    return row_values(tool, TOOL_INSTANCE_ATTRIBUTES)


def present(workflow, who: Requester, related: Related) -> dict:
    """The Workflow representation as seen by `who` (`workflow`: a plain row of LIST_COLUMNS): its
    columns and what is computed from the related rows."""
    return {
        **row_values(workflow, WORKFLOW_ATTRIBUTES),
        "shared_users": list(related.viewer_ids),
        "organization": who.org.org_id, "is_owner": who.is_admin or str(who.user_id) in related.owner_ids,
        "created_by_email": related.creator_email,
        "owner_emails": list(related.owner_emails), "co_owners_count": len(related.owner_emails),
        "tool_instances": list(related.tool_instances),
    }


def present_page(workflows: Sequence, who: Requester) -> list[dict]:
    """Workflows (plain rows of LIST_COLUMNS) as `present` shows them, their related rows read for all of
    them at once."""
    related = related_rows(workflows)
    return [present(workflow, who, related[workflow.id]) for workflow in workflows]


def present_one(workflow_id: uuid.UUID, who: Requester) -> dict:
    """Read one workflow (after a change) and present it."""
    query = select(*list_columns(Workflow, LIST_COLUMNS)).where(Workflow.id == workflow_id)
    return present_page([db.session.execute(query).one()], who)[0]


def can_update(who: Requester, workflow: Workflow) -> dict:
    """Can-update: only owners (org admins included) can update; no pipelines or API deployments exist."""
    allowed = is_owner(workflow, who)
    return {"can_update": allowed, "reason": None if allowed else CANNOT_UPDATE,
            "pipelines": [], "api_names": [], "pipeline_count": 0, "api_count": 0}


def settings_schema(type_: str, entity: str) -> dict:
    """GET workflow/schema/: the settings document of an allowed (type, entity) pair."""
    try:
        return jsonschemas.schema_for_query(type_, entity)
    except KeyError:
        detail = f'"{entity}" is not a valid choice for type "{type_}".'
        raise errors.field_error("entity", "invalid_choice", detail) from None


# --- Validation ----------------------------------------------------------------------------------

def duplicate_name_message(who: Requester, name: str, workflow: Workflow | None, *,
                           ignore_case: bool = False) -> str | None:
    """Why `name` is taken by another workflow of the org (exactly, or also ignoring case), or None when free.
    Keeping a workflow's current name is never a duplicate, even where older names differ only in case."""
    if workflow is not None and workflow.workflow_name == name:
        return None
    # lower() on both sides: the database folds case the same way for the stored and the new name.
    same = func.lower(Workflow.workflow_name) == func.lower(name) if ignore_case else Workflow.workflow_name == name
    query = select(Workflow.workflow_name).where(Workflow.organization_id == who.org.id, same)
    if workflow is not None:
        query = query.where(Workflow.id != workflow.id)
    taken = set(db.session.scalars(query.limit(20)))
    if not taken:
        return None
    return DUPLICATE_NAME if name in taken else DUPLICATE_NAME_CASE


def validate(who: Requester, data: dict, workflow: Workflow | None,
             field_errors: Sequence[FieldMessage] = (), *, ignore_case: bool = False) -> None:
    """Add the database rules (unique name, shared users) to the parse errors; 400 when any."""
    messages = list(field_errors)
    failed = {(m.attr or "").split(".", 1)[0] for m in messages}
    duplicate = None
    if "workflow_name" in data and "workflow_name" not in failed:
        duplicate = duplicate_name_message(who, data["workflow_name"], workflow, ignore_case=ignore_case)
    if duplicate:
        messages.append(FieldMessage("unique", duplicate, "workflow_name"))
    if "shared_users" in data and "shared_users" not in failed:
        owners = sharing.owner_ids(workflow, who.user_id)
        messages.extend(sharing.shared_users_errors(who.org.id, data["shared_users"], owners))
    raise_if_any(messages, WRITABLE_FIELDS)


# --- Writing -------------------------------------------------------------------------------------

def _assign(workflow: Workflow, data: dict) -> None:
    for name in WRITABLE_FIELDS:
        if name in data and name != "shared_users":
            setattr(workflow, name, data[name])


def create(who: Requester, data: dict, field_errors: Sequence[FieldMessage] = (), *,
           ignore_case: bool = False) -> dict:
    """Create: workflow, owner and viewer memberships and both endpoints, in one transaction."""
    validate(who, data, None, field_errors, ignore_case=ignore_case)
    now = utcnow()
    workflow = Workflow(organization_id=who.org.id, workflow_owner=who.user_id, created_by=who.user_id,
                        modified_by=who.user_id, created_at=now, modified_at=now)
    _assign(workflow, data)
    workflow.is_active = True
    db.session.add(workflow)
    sharing.add_memberships(workflow, [who.user_id], WorkflowRole.OWNER)
    sharing.add_memberships(workflow, dict.fromkeys(data.get("shared_users", [])), WorkflowRole.VIEWER)
    for endpoint_type in (EndpointType.SOURCE, EndpointType.DESTINATION):
        workflow.endpoints.append(WorkflowEndpoint(endpoint_type=endpoint_type, connection_type="",
                                                   configuration=None))
    commit_or_duplicate("workflow_name", DUPLICATE_NAME)
    return present_one(workflow.id, who)


def update(who: Requester, workflow: Workflow, data: dict,
           field_errors: Sequence[FieldMessage] = (), *, ignore_case: bool = False) -> dict:
    """Update: absent fields keep their values; shared_users replaces the viewers when sent."""
    sharing.lock(workflow)
    validate(who, data, workflow, field_errors, ignore_case=ignore_case)
    _assign(workflow, data)
    if "shared_users" in data:
        sharing.replace_viewers(workflow, data["shared_users"])
    workflow.modified_by = who.user_id
    workflow.modified_at = utcnow()
    commit_or_duplicate("workflow_name", DUPLICATE_NAME)
    return present_one(workflow.id, who)


def toggle_active(who: Requester, workflow: Workflow) -> dict:
    """Toggle: flip is_active atomically, so concurrent toggles never lose one."""
    db.session.execute(
        update_rows(Workflow).where(Workflow.id == workflow.id)
        .values(is_active=not_(Workflow.is_active), modified_by=who.user_id, modified_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.commit()
    return present_one(workflow.id, who)


def clear_file_marker(workflow: Workflow) -> int:
    """Clear-file-marker: delete the workflow's file history and reservations; returns the history rows deleted.
    The contract makes this a GET, so it leaves the request's read-only mode first."""
    start_writing(db.session())
    deleted = db.session.execute(delete(FileHistory).where(FileHistory.workflow_id == workflow.id))
    db.session.execute(delete(FileReservation).where(FileReservation.workflow_id == workflow.id))
    db.session.commit()
    return deleted.rowcount


def stop_running_executions(workflow_id: uuid.UUID) -> list[uuid.UUID]:
    """Stop the workflow's PENDING/EXECUTING executions and files; returns all its execution ids."""
    executions = select(Execution.id).where(Execution.workflow_id == workflow_id)
    ids = list(db.session.scalars(executions))
    running = tuple(NON_TERMINAL)
    for execution_id in db.session.scalars(executions.where(Execution.status.in_(running))):
        note_settled(execution_id)
    db.session.execute(
        update_rows(Execution).where(Execution.workflow_id == workflow_id, Execution.status.in_(running))
        .values(stop_requested=True, status=Status.STOPPED).execution_options(synchronize_session=False))
    db.session.execute(
        update_rows(FileExecution)
        .where(FileExecution.execution_id.in_(executions), FileExecution.status.in_(running))
        .values(status=Status.STOPPED).execution_options(synchronize_session=False))
    db.session.commit()
    return ids


def delete_workflow(workflow: Workflow, data_dir: Path) -> None:
    """Delete: stop runs, delete the workflow (the database cascades), remove its run files (EXECUTION.md, Stop)."""
    workflow_id = workflow.id
    stop_running_executions(workflow_id)
    execution_ids = list(db.session.scalars(select(Execution.id).where(Execution.workflow_id == workflow_id)))
    db.session.execute(delete(Workflow).where(Workflow.id == workflow_id)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    for execution_id in execution_ids:
        for area in ("executions", "uploads"):
            shutil.rmtree(Path(data_dir) / area / str(execution_id), ignore_errors=True)
