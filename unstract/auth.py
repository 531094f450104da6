"""Who is asking, over HTTP: session login or Bearer API keys, org scoping, CSRF and the throttling of
failed keys. The rules about what the requester may see and change are unstract.policy's."""

from __future__ import annotations

import functools
import hmac
import re
import uuid
from collections.abc import Callable
from typing import TypeVar

from flask import current_app, g, request, session
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy import Select, bindparam, select
from wtforms.validators import ValidationError as CSRFValidationError

from unstract import errors
from unstract.extensions import db, login_manager
from unstract.fastpath import SAFE_METHODS, start_writing
from unstract.http_errors import request_too_large
from unstract.models import (
    ApiKey,
    Organization,
    OrgMembership,
    User,
)
from unstract.models.base import utcnow
from unstract.policy import Requester, hash_api_key, is_valid_org_id, key_allows
from unstract.proxies import client_address
from unstract.services import throttle, user_sessions

T = TypeVar("T")

API_BASE = "/api/v1/unstract/"
DEPLOYMENT_BASE = "/deployment/api/"  # API deployments' run routes: deployment keys, no session, no CSRF
WHOAMI_PATH = API_BASE + "whoami/"  # the one route under the base without an org: the key names it
SESSION_ID_KEY = "sid"  # the server-side session's id, inside the signed session cookie
# The scheme in any case, one or more spaces, the key; anything else is refused.
BEARER_HEADER = re.compile(r"bearer +(\S+)", re.IGNORECASE)


# --- Session users (docs/SECURITY.md, Sessions) -------------------------------------------------

@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's user while its server-side session lives; a revoked one reads as logged out."""
    token = session.get(SESSION_ID_KEY)
    if not isinstance(token, str):
        return None
    try:
        return user_sessions.user_of(token, uuid.UUID(user_id))
    except ValueError:
        return None


def log_in(user: User) -> None:
    """Start a server-side session for `user` and name it in the session cookie."""
    session[SESSION_ID_KEY] = user_sessions.start(user)
    login_user(user)


def log_out() -> None:
    """End the server-side session, so a copy of the cookie is worthless too."""
    token = session.get(SESSION_ID_KEY)
    if isinstance(token, str):
        user_sessions.end(token)
    logout_user()
    session.clear()


# --- The API guard (docs/API.md, Authentication; Order of checks, steps 1–5) ---------------------

def org_id_from_path(path: str) -> str | None:
    if not path.startswith(API_BASE):
        return None
    return path[len(API_BASE):].split("/", 1)[0]


def is_whoami(path: str) -> bool:
    """The whoami route, with or without its trailing slash (as every route)."""
    return path in (WHOAMI_PATH, WHOAMI_PATH.rstrip("/"))


def guard_api_request() -> None:
    """Runs before routing errors surface: size, credentials, org membership, key tier, CSRF."""
    check_body_size()
    org_id = org_id_from_path(request.path)
    header = request.headers.get("Authorization")
    if is_whoami(request.path):
        if header is None:
            raise errors.NotAuthenticated()
        org_id = _key_org_id(header)
    if header is not None:
        key, g.requester = _throttled_bearer_requester(header, org_id)
        g.api_key = key
        _check_tier(key)
    elif current_user.is_authenticated:
        g.requester = _session_requester(current_user._get_current_object(), org_id)
        if request_changes_state():
            _check_csrf()
    else:
        raise errors.NotAuthenticated()


# --- Which requests change state ----------------------------------------------------------------

def changes_state(view):
    """Mark a safe-method view that changes state anyway (the contract's GET clear-file-marker): the
    key tier and CSRF checks then treat it as the write it is."""
    view.changes_state = True
    return view


def request_changes_state() -> bool:
    """An unsafe method, or a safe one whose view is marked with `changes_state`."""
    if request.method not in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint)
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return getattr(view, "changes_state", False)
    # As MethodView dispatches: HEAD runs `get` when the class has no `head`.
    handler = getattr(view_class, request.method.lower(), None)
    if handler is None and request.method == "HEAD":
        handler = getattr(view_class, "get", None)
    return getattr(handler, "changes_state", False)


def check_body_size() -> None:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        raise request_too_large(limit)


def _throttled_bearer_requester(header: str, org_id: str | None) -> tuple[ApiKey, Requester]:
    """`_bearer_requester` behind the failed-key throttle."""
    return throttled_key_check(lambda: _bearer_requester(header, org_id))


def throttled_key_check(check: Callable[[], T]) -> T:
    """Run a key check (org API key or deployment key), refused with 429 while the client's address is
    over its limit of failed keys (docs/SECURITY.md, Throttling); every 401 it raises counts towards it."""
    address = client_address()
    wait = throttle.retry_after(throttle.API_KEY_PER_ADDRESS, address)
    if wait:
        raise errors.Throttled(f"Too many failed authentications; try again in {wait} second(s).",
                               retry_after=wait)
    try:
        return check()
    except errors.AuthenticationFailed:
        throttle.record_failure(throttle.API_KEY_PER_ADDRESS, address)
        raise


def _bearer_requester(header: str, org_id: str | None) -> tuple[ApiKey, Requester]:
    """The key, its user, the path's org and the user's role there, in one query (every API request
    pays it). An unknown key is 401 whatever the path; a path org that is not the key's, or where
    the user is no longer a member, is 404."""
    match = BEARER_HEADER.fullmatch(header)
    if match is None:
        raise errors.AuthenticationFailed()
    token = match.group(1)
    digest = hash_api_key(token)
    path_org = org_id if is_valid_org_id(org_id) else ""  # never sent as typed: it may hold a NUL, say
    row = db.session.execute(_key_statement(), {"digest": digest, "path_org": path_org}).first()
    if row is None or not hmac.compare_digest(row.ApiKey.key_hash, digest):
        raise errors.AuthenticationFailed()
    key, user, org, role = row
    if org is None or role is None:
        raise errors.NotFound()
    return key, Requester(user=user, org=org, role=role)


def _key_org_id(header: str) -> str | None:
    """The org of the key in `header` (whoami's org), or None for an unknown key (then 401 follows)."""
    match = BEARER_HEADER.fullmatch(header)
    if match is None:
        return None
    return db.session.scalar(select(Organization.org_id).join(ApiKey, ApiKey.organization_id == Organization.id)
                             .where(ApiKey.key_hash == hash_api_key(match.group(1))))


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
    if not is_valid_org_id(org_id):
        raise errors.NotFound()
    row = db.session.execute(
        select(Organization, OrgMembership.role).join(OrgMembership, OrgMembership.organization_id == Organization.id)
        .where(Organization.org_id == org_id, OrgMembership.user_id == user.id)
    ).first()
    if row is None:
        raise errors.NotFound()
    return Requester(user=user, org=row.Organization, role=row.role)


def _check_tier(key: ApiKey) -> None:
    if not key_allows(key.permission, request.method, changes_state=request_changes_state()):
        raise errors.PermissionDenied(
            f"API key with permission '{key.permission}' does not allow {request.method}"
            f"{' on this route, which changes data' if request.method in SAFE_METHODS else ''}.",
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


def api_key() -> ApiKey:
    """The org API key of the current request (whoami; set by guard_api_request)."""
    return g.api_key
