"""Who is asking: session login or Bearer API keys, org scoping, and workflow visibility/ownership."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass

from flask import current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy import Select, bindparam, exists, or_, select, true
from wtforms.validators import ValidationError as CSRFValidationError

from unstract import errors
from unstract.extensions import db, login_manager
from unstract.models import (
    TIER_METHODS,
    ApiKey,
    Organization,
    OrgMembership,
    OrgRole,
    User,
    Workflow,
    WorkflowMembership,
    WorkflowRole,
)
from unstract.models.base import utcnow
from unstract.sessions import SAFE_METHODS, start_writing

ORG_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
API_BASE = "/api/v1/unstract/"


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


# --- API keys ---------------------------------------------------------------------------------

def generate_api_key() -> str:
    """`uk_` + 43 URL-safe characters (32 random bytes); only its digest is stored."""
    return "uk_" + secrets.token_urlsafe(32)


def hash_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


# --- Session users ------------------------------------------------------------------------------

@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        return db.session.get(User, uuid.UUID(user_id))
    except ValueError:
        return None


# --- The API guard (docs/API.md, Authentication; Order of checks, steps 1–5) ---------------------

def org_id_from_path(path: str) -> str | None:
    if not path.startswith(API_BASE):
        return None
    return path[len(API_BASE):].split("/", 1)[0]


def guard_api_request() -> None:
    """Runs before routing errors surface: size, credentials, org membership, key tier, CSRF."""
    check_body_size()
    org_id = org_id_from_path(request.path)
    header = request.headers.get("Authorization")
    if header is not None:
        key, g.requester = _bearer_requester(header, org_id)
        _check_tier(key)
    elif current_user.is_authenticated:
        g.requester = _session_requester(current_user._get_current_object(), org_id)
        if request.method not in SAFE_METHODS:
            _check_csrf()
    else:
        raise errors.NotAuthenticated()


def check_body_size() -> None:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        raise request_too_large(limit)


def request_too_large(limit: int) -> errors.DomainError:
    error = errors.DomainError(f"Request body exceeds {limit} bytes.", code="request_too_large")
    error.status = 413
    return error


def _bearer_requester(header: str, org_id: str | None) -> tuple[ApiKey, Requester]:
    """The key, its user, the path's org and the user's role there, in one query (every API request
    pays it). An unknown key is 401 whatever the path; a path org that is not the key's, or where
    the user is no longer a member, is 404."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme != "Bearer" or not token:
        raise errors.AuthenticationFailed()
    digest = hash_api_key(token)
    path_org = org_id if _valid_org_id(org_id) else ""  # never sent as typed: it may hold a NUL, say
    row = db.session.execute(_key_statement(), {"digest": digest, "path_org": path_org}).first()
    if row is None or not hmac.compare_digest(row.ApiKey.key_hash, digest):
        raise errors.AuthenticationFailed()
    key, user, org, role = row
    if org is None or role is None:
        raise errors.NotFound()
    return key, Requester(user=user, org=org, role=role)


@functools.cache
def _key_statement() -> Select:
    """The key, its user, the path's org and the role there. Built once: building a statement like this
    costs more than running it, and every API request runs it."""
    return (select(ApiKey, User, Organization, OrgMembership.role)
            .join(User, User.id == ApiKey.user_id)
            .outerjoin(Organization, (Organization.id == ApiKey.organization_id)
                       & (Organization.org_id == bindparam("path_org")))
            .outerjoin(OrgMembership, (OrgMembership.user_id == ApiKey.user_id)
                       & (OrgMembership.organization_id == Organization.id))
            .where(ApiKey.key_hash == bindparam("digest")))


def _session_requester(user: User, org_id: str | None) -> Requester:
    """The logged-in user's role in the path's org (one query); 404 when not a member."""
    if not _valid_org_id(org_id):
        raise errors.NotFound()
    row = db.session.execute(
        select(Organization, OrgMembership.role).join(OrgMembership, OrgMembership.organization_id == Organization.id)
        .where(Organization.org_id == org_id, OrgMembership.user_id == user.id)
    ).first()
    if row is None:
        raise errors.NotFound()
    return Requester(user=user, org=row.Organization, role=row.role)


def _valid_org_id(org_id: str | None) -> bool:
    return bool(org_id) and ORG_ID_PATTERN.match(org_id) is not None


def _check_tier(key: ApiKey) -> None:
    if request.method not in TIER_METHODS.get(key.permission, set()):
        raise errors.PermissionDenied(
            f"API key with permission '{key.permission}' does not allow {request.method}.",
            code="api_key_permission",
        )
    _touch_key(key)


def _touch_key(key: ApiKey) -> None:
    """Record use at most once a minute, so reads do not turn every request into a write."""
    now = utcnow()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        start_writing(db.session())
        key.last_used_at = now
        db.session.commit()


def _check_csrf() -> None:
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except (CSRFValidationError, CSRFError):
        raise errors.PermissionDenied("CSRF token missing or incorrect.", code="csrf_failed") from None


def requester() -> Requester:
    """The current API requester (set by guard_api_request)."""
    return g.requester


# --- Workflow visibility and ownership (docs/API.md, Visibility and ownership) ------------------

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
