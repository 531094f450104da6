"""Workflows pages of the dashboard."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from unstract.services import accounts, workflows

bp = Blueprint("web_workflows", __name__)


@bp.get("/")
@login_required
def index():
    """Workflows visible to the user in their first organization."""
    who = accounts.default_requester(current_user)
    rows = workflows.list_visible(who) if who else []
    return render_template("workflows/index.html", workflows=rows, org=who.org if who else None)
