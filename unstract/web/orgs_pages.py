"""The organization switcher: the chosen org is kept in the session."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, session, url_for
from flask_login import login_required

from unstract.web.context import SESSION_ORG_KEY, layout_context, user_orgs

bp = Blueprint("web_orgs", __name__)
# Pages the switcher may return to: the top of each section (ids from the old org would 404).
SECTION_ROOTS = frozenset({"/", "/overview", "/connectors", "/keys", "/executions"})


@bp.app_context_processor
def _layout():
    return layout_context()


@bp.post("/org/switch")
@login_required
def switch():
    """Act in another of the user's organizations from now on."""
    org_id = request.form.get("org_id", "")
    if org_id not in {org.org_id for org in user_orgs()}:
        abort(404)
    session[SESSION_ORG_KEY] = org_id
    target = request.form.get("next", "")
    return redirect(target if target in SECTION_ROOTS else url_for("web_workflows.index"))
