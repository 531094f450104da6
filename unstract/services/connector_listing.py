"""Connectors as the dashboard lists them: with creator, usage count and whether the requester may edit."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from unstract.extensions import db
from unstract.models import Connector, User, Workflow, WorkflowEndpoint
from unstract.policy import Requester, visible_workflows
from unstract.services import connectors


def users_of(who: Requester, connector_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict]]:
    """The workflows whose source or destination use each connector, by name, in one query: those the
    requester may see with their name and endpoint, the others only counted (`name` None), never named."""
    if not connector_ids:
        return {}
    visible = set(db.session.scalars(visible_workflows(who).with_only_columns(Workflow.id)
                                     .join(WorkflowEndpoint, WorkflowEndpoint.workflow_id == Workflow.id)
                                     .where(WorkflowEndpoint.connector_instance_id.in_(connector_ids))))
    query = (select(WorkflowEndpoint.connector_instance_id, WorkflowEndpoint.endpoint_type, Workflow.id,
                    Workflow.workflow_name)
             .join(Workflow, Workflow.id == WorkflowEndpoint.workflow_id)
             .where(WorkflowEndpoint.connector_instance_id.in_(connector_ids))
             .order_by(Workflow.workflow_name, WorkflowEndpoint.endpoint_type))
    found: dict[uuid.UUID, list[dict]] = {}
    for connector_id, endpoint_type, workflow_id, name in db.session.execute(query):
        shown = workflow_id in visible
        found.setdefault(connector_id, []).append({
            "workflow_id": workflow_id if shown else None, "name": name if shown else None,
            "endpoint": endpoint_type.lower()})
    return found


def can_edit(who: Requester, connector: Connector) -> bool:
    """The rule for PATCH/DELETE connector/{id}/ (creator or org admin), as connectors.get_editable."""
    return who.is_admin or connector.created_by == who.user_id


def usage_counts(connector_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Workflow endpoints referencing each connector, in one GROUP BY query."""
    if not connector_ids:
        return {}
    query = (select(WorkflowEndpoint.connector_instance_id, func.count())
             .where(WorkflowEndpoint.connector_instance_id.in_(connector_ids))
             .group_by(WorkflowEndpoint.connector_instance_id))
    return {row[0]: row[1] for row in db.session.execute(query)}


def creator_emails(user_ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    ids = [user_id for user_id in user_ids if user_id is not None]
    if not ids:
        return {}
    return {row[0]: row[1] for row in db.session.execute(select(User.id, User.email).where(User.id.in_(ids)))}


def list_for_page(who: Requester, connector_id: str | None = None) -> list[dict]:
    """The org's connectors by name, each with its type name, creator, usage count and edit right."""
    query = connectors.list_query(who, connector_id=connector_id).order_by(Connector.connector_name, Connector.id)
    rows = list(db.session.scalars(query))
    usage = usage_counts([row.id for row in rows])
    used_by = users_of(who, [row.id for row in rows if usage.get(row.id)])
    emails = creator_emails({row.created_by for row in rows})
    return [{"connector": row, "type_name": connectors.TYPE_NAMES.get(row.connector_id, row.connector_id),
             "usage": usage.get(row.id, 0), "creator": emails.get(row.created_by),
             "editable": can_edit(who, row), "used_by": used_by.get(row.id, [])} for row in rows]


def describe(who: Requester, connector: Connector) -> dict:
    """One connector as list_for_page shows it (for the edit and delete pages)."""
    emails = creator_emails({connector.created_by})
    return {"connector": connector, "type_name": connectors.TYPE_NAMES.get(connector.connector_id),
            "usage": connectors.usage_count(connector), "creator": emails.get(connector.created_by),
            "editable": can_edit(who, connector), "used_by": users_of(who, [connector.id]).get(connector.id, [])}
