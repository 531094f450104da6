"""The organization switcher: the chosen org is kept in the session."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, session, url_for
from flask_login import login_required

from unstract.web.context import SESSION_ORG_KEY, user_orgs

bp = Blueprint("web_orgs", __name__)


@bp.post("/org/switch")
@login_required
def switch():
    """Act in another of the user's organizations from now on."""
    org_id = request.form.get("org_id", "")
    if org_id not in {org.org_id for org in user_orgs()}:
        abort(404)
    session[SESSION_ORG_KEY] = org_id
    return redirect(url_for("web_workflows.index"))
