"""API keys page: the user's keys in the current org; create (plaintext shown once) and revoke."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import login_required

from unstract import errors
from unstract.hosts import absolute_url
from unstract.services import api_keys
from unstract.web.context import current_requester, errors_by_field, is_htmx

bp = Blueprint("web_keys", __name__)
DEFAULT_PERMISSION = "read_write"


def _page(who, *, template: str = "keys/index.html", status: int = 200, **extra):
    """Render the page (or a fragment of it) with everything the templates need."""
    context = {"who": who, "keys": api_keys.list_keys(who), "labels": api_keys.PERMISSION_LABELS,
               "permissions": api_keys.PERMISSIONS, "chosen": DEFAULT_PERMISSION, "errors": {},
               "created": None, "name": "", "api_base": absolute_url(f"/api/v1/unstract/{who.org.org_id}/")}
    return make_response(render_template(template, **{**context, **extra}), status)


def key_label(key) -> str:
    """How a key is named in messages: its name and prefix, or the prefix alone."""
    return f"“{key.name}” ({key.key_prefix}…)" if key.name else f"{key.key_prefix}…"


@bp.get("/keys")
@login_required
def index():
    """The user's keys in the current org; the table alone for htmx."""
    who = current_requester()
    return _page(who, template="keys/_list.html" if is_htmx() else "keys/index.html")


@bp.post("/keys")
@login_required
def create():
    """Create a key; its plaintext is in this response only (never stored, never cached)."""
    who = current_requester()
    permission, name = request.form.get("permission", ""), request.form.get("name", "")
    template = "keys/_create.html" if is_htmx() else "keys/index.html"
    try:
        plaintext, key = api_keys.create_key(who, permission, name)
    except errors.ValidationFailed as exc:
        return _page(who, template=template, status=400, chosen=permission, name=name,
                     errors=errors_by_field(exc, {"permission", "name"}))
    return _page(who, template=template, status=201, created={"plaintext": plaintext, "key": key})


@bp.get("/keys/<uuid:key_id>/revoke")
@login_required
def confirm_revoke(key_id: uuid.UUID):
    """Confirmation page (used when the in-page dialog is not available)."""
    who = current_requester()
    key = api_keys.get_own_key(who, key_id)
    return render_template("keys/revoke.html", key=key, labels=api_keys.PERMISSION_LABELS)


@bp.post("/keys/<uuid:key_id>/revoke")
@login_required
def revoke(key_id: uuid.UUID):
    """Delete the key; requests that carry it are refused from now on."""
    key = api_keys.revoke_key(current_requester(), key_id)
    flash(f"API key {key_label(key)} revoked. Requests using it are now refused.", "success")
    return redirect(url_for("web_keys.index"), code=303)
