"""Workflow memberships: viewers (shared users) and owners (co-owners) (docs/API.md, Visibility and ownership)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from unstract import errors
from unstract.errors import FieldMessage
from unstract.extensions import db
from unstract.models import OrgMembership, User, Workflow, WorkflowMembership, WorkflowRole
from unstract.models.base import utcnow


def not_member_message(user_id: uuid.UUID) -> str:
    return f"User {user_id} is not a member of this organization."


def org_member_ids(organization_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The subset of `user_ids` that belong to the organization."""
    wanted = set(user_ids)
    if not wanted:
        return set()
    query = select(OrgMembership.user_id).where(
        OrgMembership.organization_id == organization_id, OrgMembership.user_id.in_(wanted))
    return set(db.session.scalars(query))


def owner_ids(workflow: Workflow | None, creator_id: uuid.UUID) -> set[uuid.UUID]:
    """Users holding an owner membership; on create (no workflow yet) that is the creator."""
    if workflow is None:
        return {creator_id}
    return {m.user_id for m in workflow.memberships if m.role == WorkflowRole.OWNER}


def shared_users_errors(organization_id: uuid.UUID, user_ids: list[uuid.UUID],
                        owners: set[uuid.UUID]) -> list[FieldMessage]:
    """One `invalid` entry per distinct listed user who is not an org member or is an owner."""
    members = org_member_ids(organization_id, user_ids)
    messages = []
    for user_id in dict.fromkeys(user_ids):
        if user_id not in members:
            messages.append(FieldMessage("invalid", not_member_message(user_id), "shared_users"))
        elif user_id in owners:
            detail = f"User {user_id} is an owner of this workflow."
            messages.append(FieldMessage("invalid", detail, "shared_users"))
    return messages


def lock(workflow: Workflow) -> None:
    """Serialize membership changes of one workflow (row lock on PostgreSQL), then reload it."""
    db.session.execute(select(Workflow.id).where(Workflow.id == workflow.id).with_for_update())
    db.session.expire(workflow)


def add_memberships(workflow: Workflow, user_ids: Iterable[uuid.UUID], role: str) -> None:
    """Add memberships with strictly increasing created_at, so their order is the list order."""
    start = utcnow()
    for offset, user_id in enumerate(user_ids):
        workflow.memberships.append(WorkflowMembership(
            user_id=user_id, role=role, created_at=start + timedelta(microseconds=offset)))


def replace_viewers(workflow: Workflow, user_ids: list[uuid.UUID]) -> None:
    """Make the viewer memberships exactly `user_ids`; kept ones keep their place in the order."""
    wanted = list(dict.fromkeys(user_ids))
    current = {m.user_id: m for m in workflow.memberships if m.role == WorkflowRole.VIEWER}
    for user_id, membership in current.items():
        if user_id not in wanted:
            workflow.memberships.remove(membership)
    add_memberships(workflow, [u for u in wanted if u not in current], WorkflowRole.VIEWER)


def _person(user: User | None) -> dict | None:
    return None if user is None else {"id": user.id, "email": user.email}


def sharing(workflow: Workflow) -> dict:
    """Sharing details of GET workflow/{id}/users/: viewers, owners (creation order) and the creator."""
    members = workflow.memberships
    return {
        "id": workflow.id,
        "workflow_name": workflow.workflow_name,
        "shared_to_org": workflow.shared_to_org,
        "shared_users": [_person(m.user) for m in members if m.role == WorkflowRole.VIEWER],
        "co_owners": [_person(m.user) for m in members if m.role == WorkflowRole.OWNER],
        "created_by": _person(workflow.creator),
    }


def _membership(workflow: Workflow, user_id: uuid.UUID) -> WorkflowMembership | None:
    return next((m for m in workflow.memberships if m.user_id == user_id), None)


def add_owner(workflow: Workflow, user_id: uuid.UUID) -> dict:
    """Make an org member a co-owner; a viewer is promoted in place."""
    lock(workflow)
    if not org_member_ids(workflow.organization_id, [user_id]):
        raise errors.field_error("user_id", "invalid", not_member_message(user_id))
    membership = _membership(workflow, user_id)
    if membership is not None and membership.role == WorkflowRole.OWNER:
        raise already_owner(user_id)
    if membership is not None:
        membership.role = WorkflowRole.OWNER
    else:
        add_memberships(workflow, [user_id], WorkflowRole.OWNER)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise already_owner(user_id) from None
    return sharing(workflow)


def already_owner(user_id: uuid.UUID) -> errors.ValidationFailed:
    return errors.field_error("user_id", "invalid", f"User {user_id} is already an owner.")


def remove_owner(workflow: Workflow, user_id: uuid.UUID) -> None:
    """Delete a user's owner membership; 404 when there is none, 409 for the last one."""
    lock(workflow)
    owners = select(WorkflowMembership).where(
        WorkflowMembership.workflow_id == workflow.id, WorkflowMembership.role == WorkflowRole.OWNER)
    membership = db.session.scalar(owners.where(WorkflowMembership.user_id == user_id))
    if membership is None:
        raise errors.NotFound()
    if db.session.scalar(select(func.count()).select_from(owners.subquery())) <= 1:
        raise errors.Conflict("The last owner cannot be removed.", code="last_owner")
    db.session.execute(delete(WorkflowMembership).where(WorkflowMembership.id == membership.id))
    db.session.commit()
