"""Who may see, change, execute and clear what: plain rules over an explicit actor, no HTTP.

The HTTP side (session login, Bearer keys, CSRF) lives in unstract.auth, which builds a Requester
and asks these functions; services, workers and the CLI ask them directly.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import Select, bindparam, exists, or_, select, true

from unstract import errors
from unstract.extensions import db
from unstract.models import TIER_METHODS, Organization, OrgRole, User, Workflow, WorkflowMembership, WorkflowRole

ORG_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Requester:
    """The authenticated user acting inside one organization."""

    user: User
    org: Organization
    role: str

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.id

    @property
    def is_admin(self) -> bool:
        return self.role == OrgRole.ADMIN


def is_valid_org_id(org_id: str | None) -> bool:
    return bool(org_id) and ORG_ID_PATTERN.match(org_id) is not None


# --- API keys ---------------------------------------------------------------------------------

def generate_api_key() -> str:
    """`uk_` + 43 URL-safe characters (32 random bytes); only its digest is stored."""
    return "uk_" + secrets.token_urlsafe(32)


def hash_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def key_allows(permission: str, method: str, *, changes_state: bool = False) -> bool:
    """Whether an API key of this permission tier may make a request with this HTTP method; a request
    that `changes_state` through a safe method needs what a POST needs."""
    allowed = TIER_METHODS.get(permission, set())
    return method in allowed and (not changes_state or "POST" in allowed)


# --- Workflow visibility and ownership --------------------------------------------------------

def _membership_exists(user_id, roles: tuple[str, ...]):
    """EXISTS a membership of `user_id` (a value or a bound parameter) in Workflow with one of `roles`."""
    return exists().where(
        WorkflowMembership.workflow_id == Workflow.id,
        WorkflowMembership.user_id == user_id,
        WorkflowMembership.role.in_(roles),
    )


def visible_workflows(who: Requester) -> Select:
    """SELECT of the org's workflows the requester may see; admins see all."""
    return select(Workflow).where(*_visibility(who.org.id, who.user_id, admin=who.is_admin))


def _visibility(org_id, user_id, *, admin: bool) -> list:
    conditions = [Workflow.organization_id == org_id]
    if not admin:
        conditions.append(or_(Workflow.shared_to_org.is_(True),
                              _membership_exists(user_id, (WorkflowRole.OWNER, WorkflowRole.VIEWER))))
    return conditions


def visibility_parameters(who: Requester) -> dict:
    """The values of the bound parameters of `prebuilt_visibility`."""
    return {"visible_org_id": who.org.id, "visible_user_id": who.user_id}


def prebuilt_visibility(admin: bool) -> list:
    """The conditions of `visible_workflows` as bound parameters (`visibility_parameters` fills them)."""
    return _visibility(bindparam("visible_org_id"), bindparam("visible_user_id"), admin=admin)


def is_owner(workflow: Workflow, who: Requester) -> bool:
    if who.is_admin:
        return True
    return any(m.user_id == who.user_id and m.role == WorkflowRole.OWNER for m in workflow.memberships)


def get_visible_workflow(who: Requester, workflow_id: uuid.UUID, *, owner: bool = False) -> Workflow:
    """The workflow, or 404 when invisible; 403 when `owner` is needed and the requester is not one.
    One query: ownership is read beside the workflow, not from its loaded memberships."""
    statement = _visible_workflow_statement(who.is_admin, owner and not who.is_admin)
    row = db.session.execute(statement, {**visibility_parameters(who), "workflow_id": workflow_id}).first()
    if row is None:
        raise errors.NotFound()
    if owner and not row.owned:
        raise errors.PermissionDenied()
    return row.Workflow


@functools.cache
def _visible_workflow_statement(admin: bool, check_owner: bool) -> Select:
    """get_visible_workflow's query, built once per kind of requester (building costs more than running)."""
    owned = _membership_exists(bindparam("visible_user_id"), (WorkflowRole.OWNER,)) if check_owner else true()
    return (select(Workflow, owned.label("owned")).where(*prebuilt_visibility(admin))
            .where(Workflow.id == bindparam("workflow_id")))
