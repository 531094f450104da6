"""Who is asking: session login or Bearer API keys, org scoping, and workflow visibility/ownership."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass

from flask import current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy import Select, exists, or_, select
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

ORG_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
API_BASE = "/api/v1/unstract/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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


def find_api_key(plaintext: str) -> ApiKey | None:
    """Look the key up by digest; compare digests in constant time to keep timing flat."""
    digest = hash_api_key(plaintext)
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if key is None or not hmac.compare_digest(key.key_hash, digest):
        return None
    return key


# --- Session users ------------------------------------------------------------------------------

@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        return db.session.get(User, uuid.UUID(user_id))
    except ValueError:
        return None


def membership_of(user_id: uuid.UUID, organization_id: uuid.UUID) -> OrgMembership | None:
    return db.session.scalar(
        select(OrgMembership).where(
            OrgMembership.user_id == user_id, OrgMembership.organization_id == organization_id
        )
    )


# --- The API guard (§0.2, §0.3, §0.6 steps 1–5) -------------------------------------------------

def org_id_from_path(path: str) -> str | None:
    if not path.startswith(API_BASE):
        return None
    return path[len(API_BASE):].split("/", 1)[0]


def guard_api_request() -> None:
    """Runs before routing errors surface: size, credentials, org membership, key tier, CSRF."""
    check_body_size()
    header = request.headers.get("Authorization")
    if header is not None:
        key = _bearer_key(header)
        user = key.user
    elif current_user.is_authenticated:
        user, key = current_user._get_current_object(), None
    else:
        raise errors.NotAuthenticated()
    g.requester = _requester_for(user, key)
    if key is not None:
        _check_tier(key)
    elif request.method not in SAFE_METHODS:
        _check_csrf()


def check_body_size() -> None:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        raise request_too_large(limit)


def request_too_large(limit: int) -> errors.DomainError:
    error = errors.DomainError(f"Request body exceeds {limit} bytes.", code="request_too_large")
    error.status = 413
    return error


def _bearer_key(header: str) -> ApiKey:
    scheme, _, token = header.partition(" ")
    key = find_api_key(token.strip()) if scheme == "Bearer" and token.strip() else None
    if key is None:
        raise errors.AuthenticationFailed()
    return key


def _requester_for(user: User, key: ApiKey | None) -> Requester:
    org_id = org_id_from_path(request.path)
    if not org_id or not ORG_ID_PATTERN.match(org_id):
        raise errors.NotFound()
    org = db.session.scalar(select(Organization).where(Organization.org_id == org_id))
    if org is None or (key is not None and key.organization_id != org.id):
        raise errors.NotFound()
    membership = membership_of(user.id, org.id)
    if membership is None:
        raise errors.NotFound()
    return Requester(user=user, org=org, role=membership.role)


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


# --- Workflow visibility and ownership (§0.4) ---------------------------------------------------

def _membership_exists(who: Requester, roles: tuple[str, ...]):
    return exists().where(
        WorkflowMembership.workflow_id == Workflow.id,
        WorkflowMembership.user_id == who.user_id,
        WorkflowMembership.role.in_(roles),
    )


def visible_workflows(who: Requester) -> Select:
    """SELECT of the org's workflows the requester may see; admins see all."""
    query = select(Workflow).where(Workflow.organization_id == who.org.id)
    if who.is_admin:
        return query
    return query.where(
        or_(Workflow.shared_to_org.is_(True), _membership_exists(who, (WorkflowRole.OWNER, WorkflowRole.VIEWER)))
    )


def is_owner(workflow: Workflow, who: Requester) -> bool:
    if who.is_admin:
        return True
    return any(m.user_id == who.user_id and m.role == WorkflowRole.OWNER for m in workflow.memberships)


def get_visible_workflow(who: Requester, workflow_id: uuid.UUID, *, owner: bool = False) -> Workflow:
    """The workflow, or 404 when invisible; 403 when `owner` is needed and the requester is not one."""
    workflow = db.session.scalar(visible_workflows(who).where(Workflow.id == workflow_id))
    if workflow is None:
        raise errors.NotFound()
    if owner and not is_owner(workflow, who):
        raise errors.PermissionDenied()
    return workflow
