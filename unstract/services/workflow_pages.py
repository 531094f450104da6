"""Page-shaped reads for the workflows dashboard: a page of workflows with their last run, members, connectors.

The rules (visibility, search, ownership) are the API's: the list starts from services.workflows.list_query
and single rows from unstract.policy.visible_workflows; this module only shapes the results for pages, in a
fixed number of queries per page.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from unstract import errors
from unstract.extensions import db
from unstract.models import Connector, Execution, OrgMembership, User, Workflow, WorkflowMembership, WorkflowRole
from unstract.pager import clamp, page_count
from unstract.policy import Requester, is_owner, visible_workflows
from unstract.services import workflows

PAGE_SIZE = 25


@dataclass(frozen=True)
class LastRun:
    """The most recent execution of a workflow."""

    execution_id: uuid.UUID
    status: str
    created_at: datetime
    failed_files: int = 0
    total_files: int = 0


@dataclass(frozen=True)
class WorkflowRow:
    """One line of the workflows table, as the requester sees it."""

    id: uuid.UUID
    name: str
    description: str
    is_active: bool
    is_owner: bool
    owner_emails: list[str]
    modified_at: datetime
    last_run: LastRun | None = None


@dataclass(frozen=True)
class WorkflowPage:
    """A page of rows with what the pager needs."""

    rows: list[WorkflowRow]
    total: int
    page: int
    page_size: int
    search: str = ""
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", page_count(self.total, self.page_size))


@dataclass(frozen=True)
class Member:
    """A member of the organization, for sharing choices."""

    id: uuid.UUID
    email: str
    role: str


@dataclass(frozen=True)
class ConnectorChoice:
    id: uuid.UUID
    name: str
    connector_id: str


# --- Workflows --------------------------------------------------------------------------------

def last_runs(workflow_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LastRun]:
    """The newest execution of each workflow, in one query (newest created_at, then highest id)."""
    if not workflow_ids:
        return {}
    rank = func.row_number().over(partition_by=Execution.workflow_id,
                                  order_by=(Execution.created_at.desc(), Execution.id.desc()))
    ranked = (select(Execution.workflow_id, Execution.id, Execution.status, Execution.created_at,
                     Execution.failed_files, Execution.total_files, rank.label("rank"))
              .where(Execution.workflow_id.in_(list(workflow_ids))).subquery())
    query = select(ranked.c.workflow_id, ranked.c.id, ranked.c.status, ranked.c.created_at, ranked.c.failed_files,
                   ranked.c.total_files).where(ranked.c.rank == 1)
    return {row.workflow_id: LastRun(row.id, row.status, row.created_at, row.failed_files, row.total_files)
            for row in db.session.execute(query)}


def _row(workflow: Workflow, who: Requester, last: LastRun | None) -> WorkflowRow:
    owners = [m.user.email for m in workflow.memberships if m.role == WorkflowRole.OWNER and m.user]
    return WorkflowRow(id=workflow.id, name=workflow.workflow_name, description=workflow.description,
                       is_active=workflow.is_active, is_owner=is_owner(workflow, who), owner_emails=owners,
                       modified_at=workflow.modified_at, last_run=last)


def _with_owners(query):
    return query.options(selectinload(Workflow.memberships).selectinload(WorkflowMembership.user))


def list_page(who: Requester, *, search: str | None = None, page: int = 1,
              page_size: int = PAGE_SIZE) -> WorkflowPage:
    """Visible workflows matching `search` (the API's search rule), newest change first.

    A page past the last one shows the last page (a page link that went stale stays useful).
    """
    base = _with_owners(workflows.list_query(who, search=search or None))
    total = db.session.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0
    page = clamp(page, total, page_size)
    ordered = base.order_by(Workflow.modified_at.desc(), Workflow.id.asc())
    found = list(db.session.scalars(ordered.limit(page_size).offset((page - 1) * page_size)))
    runs = last_runs([w.id for w in found])
    rows = [_row(w, who, runs.get(w.id)) for w in found]
    return WorkflowPage(rows=rows, total=total, page=page, page_size=page_size, search=search or "")


def row(who: Requester, workflow_id: uuid.UUID) -> WorkflowRow:
    """One visible workflow as a table row (404 when not visible)."""
    workflow = visible_with_owners(who, workflow_id)
    return _row(workflow, who, last_runs([workflow.id]).get(workflow.id))


def visible_with_owners(who: Requester, workflow_id: uuid.UUID) -> Workflow:
    """The visible workflow with its owners loaded fresh (404 when not visible)."""
    query = _with_owners(visible_workflows(who).where(Workflow.id == workflow_id))
    workflow = db.session.scalar(query.execution_options(populate_existing=True))
    if workflow is None:
        raise errors.NotFound()
    return workflow


def is_visible(who: Requester, workflow_id: uuid.UUID) -> bool:
    """Whether the requester may see the workflow (docs/API.md, Visibility and ownership)."""
    query = select(visible_workflows(who).where(Workflow.id == workflow_id).exists())
    return bool(db.session.scalar(query))


# --- Detail page ------------------------------------------------------------------------------

def org_members(who: Requester) -> list[Member]:
    """Every member of the requester's organization, by email."""
    query = (select(User.id, User.email, OrgMembership.role)
             .join(OrgMembership, OrgMembership.user_id == User.id)
             .where(OrgMembership.organization_id == who.org.id).order_by(User.email, User.id))
    return [Member(r.id, r.email, r.role) for r in db.session.execute(query)]


def connector_choices(who: Requester) -> dict[str, list[ConnectorChoice]]:
    """The organization's connectors grouped by mode (FILE_SYSTEM, DATABASE), by name."""
    query = (select(Connector.id, Connector.connector_name, Connector.connector_id, Connector.connector_mode)
             .where(Connector.organization_id == who.org.id).order_by(Connector.connector_name, Connector.id))
    grouped: dict[str, list[ConnectorChoice]] = {"FILE_SYSTEM": [], "DATABASE": []}
    for r in db.session.execute(query):
        grouped.setdefault(r.connector_mode, []).append(ConnectorChoice(r.id, r.connector_name, r.connector_id))
    return grouped
