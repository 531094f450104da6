"""Who is using the dashboard: the logged-in user acting in the organization chosen in the switcher."""

from __future__ import annotations

from flask import abort, request, session
from flask_login import current_user

from unstract.auth import Requester
from unstract.services import accounts

SESSION_ORG_KEY = "org_id"


def current_requester() -> Requester:
    """The requester for this page; the org comes from the session (switcher), else the first one."""
    who = accounts.default_requester(current_user, session.get(SESSION_ORG_KEY))
    if who is None and session.get(SESSION_ORG_KEY):
        session.pop(SESSION_ORG_KEY)
        who = accounts.default_requester(current_user)
    if who is None:
        abort(403)
    return who


def user_orgs() -> list:
    """Organizations the user belongs to, for the switcher."""
    return [m.organization for m in accounts.memberships_of(current_user)]


def is_htmx() -> bool:
    """True when htmx asked for a fragment (ARCHITECTURE §7: full page or partial by HX-Request)."""
    return request.headers.get("HX-Request") == "true"
