"""Connectors pages: list, create, edit (secrets never shown back) and delete (refused while in use)."""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from unstract import errors
from unstract.errors import FieldMessage
from unstract.jsonschemas import CONNECTOR_METADATA, secret_fields
from unstract.schemas.connector_input import ConnectorCreateSchema
from unstract.schemas.parsing import parse
from unstract.services import connector_listing, connectors
from unstract.services.secrets import MASK
from unstract.web.context import current_requester, delete_then_list, is_htmx
from unstract.web.schema_forms import FormField, build_fields, errors_by_attr, read_form, unplaced

bp = Blueprint("web_connectors", __name__)
PREFIX = "connector_metadata"
DEFAULT_TYPE = "local_storage"
FORM_ATTRS = ("connector_name", "connector_id")
PATH_ATTR = f"{PREFIX}.path"


# --- Form <-> JSON Schema (the shared helpers of web.schema_forms) ------------------------------

def metadata_fields(connector_id: str, document: dict, errs: dict | None = None) -> list[FormField]:
    """One input per property of the type's metadata schema; secrets are never echoed back.

    A path checked against the storage roots says which roots there are and offers them as suggestions (not the
    folders inside them: the roots are shared by every organization, their folder names are not)."""
    fields = build_fields(CONNECTOR_METADATA[connector_id], document, PREFIX, errs or {})
    hint = connectors.path_hint(connector_id, _roots())
    for item in fields:
        if item.name == PATH_ATTR and hint is not None:
            item.help, item.suggestions = hint, list(_roots())
    return fields


def _roots() -> list[str]:
    return current_app.config["UNSTRACT_SETTINGS"].local_storage_roots


def with_path_advice(connector_id: str, messages, typed: str) -> list[FieldMessage]:
    """The path's refusals (outside the roots, not absolute) say what to type instead, naming the roots."""
    advice = connectors.path_advice(connector_id, _roots(), typed)
    if advice is None:
        return list(messages)
    return [FieldMessage(m.code, advice, m.attr)
            if m.attr == PATH_ATTR and (m.code == "path_not_allowed" or " does not match " in m.detail) else m
            for m in messages]


def secrets_state(connector) -> dict[str, bool]:
    """Input name -> whether a secret is stored, for the "leave empty to keep it" hint on edit."""
    if connector is None:
        return {}
    masked = connectors.present(connector)["connector_metadata"]
    return {f"{PREFIX}.{name}": masked.get(name) == MASK for name in secret_fields(connector.connector_id)}


def metadata_from_form(connector_id: str, form: MultiDict, *, editing: bool) -> tuple[dict, dict, list]:
    """(document to send, document to show again, parse problems) for the posted metadata inputs.

    An empty secret is absent, which on edit keeps the stored one (docs/API.md, Connectors); "remove" empties it.
    Inputs that did not parse are left out of the sent document: their own message says what is wrong.
    """
    shown, problems = read_form(CONNECTOR_METADATA[connector_id], form, PREFIX)
    if editing:
        for name in secret_fields(connector_id):
            if form.get(f"{PREFIX}.{name}.clear"):
                shown[name] = ""
    bad = {problem.attr for problem in problems}
    sent = {key: value for key, value in shown.items() if f"{PREFIX}.{key}" not in bad}
    return sent, shown, problems


def _write_settings() -> dict:
    return {"roots": current_app.config["UNSTRACT_SETTINGS"].local_storage_roots,
            "secret_key": current_app.config["SECRET_KEY"]}


def _form_page(who, connector_id: str, *, connector=None, document=None, name="", messages=(), status=200):
    """The create/edit form; on edit the type is fixed and secrets show only as stored or not."""
    errs = errors_by_attr(messages)
    fields = metadata_fields(connector_id, document or {}, errs)
    top = [m for m in messages if m.attr not in FORM_ATTRS]
    context = {"who": who, "types": connectors.connector_types(), "connector_id": connector_id,
               "type_name": connectors.TYPE_NAMES[connector_id], "name": name, "fields": fields,
               "info": connector_listing.describe(who, connector) if connector is not None else None,
               "secrets": secrets_state(connector), "errors": errs, "top_errors": unplaced(top, fields)}
    return render_template("connectors/form.html", **context), status


# --- Pages ---------------------------------------------------------------------------------------

@bp.get("/connectors")
@login_required
def index():
    """The org's connectors; the table alone for htmx (type filter)."""
    who = current_requester()
    chosen = request.args.get("connector_id") or None
    chosen = chosen if chosen in connectors.CONNECTOR_IDS else None
    rows = connector_listing.list_for_page(who, connector_id=chosen)
    template = "connectors/_list.html" if is_htmx() else "connectors/index.html"
    return render_template(template, who=who, rows=rows, chosen=chosen, types=connectors.connector_types())


@bp.get("/connectors/new")
@login_required
def new():
    """The create form for the chosen type; only its metadata inputs for htmx (type switch)."""
    who = current_requester()
    connector_id = request.args.get("connector_id", DEFAULT_TYPE)
    connector_id = connector_id if connector_id in connectors.CONNECTOR_IDS else DEFAULT_TYPE
    if is_htmx():
        return render_template("connectors/_metadata_fields.html", fields=metadata_fields(connector_id, {}),
                               type_name=connectors.TYPE_NAMES[connector_id], secrets={})
    return _form_page(who, connector_id, name=request.args.get("connector_name", ""))


def _submitted(form: MultiDict, connector=None) -> tuple[dict, dict, list[FieldMessage], str]:
    """(body for the service, metadata to show again, problems found while reading, type to show)."""
    connector_id = connector.connector_id if connector is not None else form.get("connector_id", "")
    posted = {"connector_name": form.get("connector_name"), "connector_id": connector_id}
    fields = FORM_ATTRS if connector is None else ("connector_name",)  # the type of a connector is fixed
    data, problems = parse(ConnectorCreateSchema(only=fields),
                           {key: value for key, value in posted.items() if value is not None})
    if connector_id not in connectors.CONNECTOR_IDS:
        return data, {}, problems, DEFAULT_TYPE
    sent, shown, parse_problems = metadata_from_form(connector_id, form, editing=connector is not None)
    data["connector_metadata"] = connectors.typed_path(connector_id, sent, _roots())
    return data, shown, problems + parse_problems, connector_id


@bp.post("/connectors")
@login_required
def create():
    """Create a connector; field errors are shown next to their fields (400)."""
    return _save(current_requester())


@bp.get("/connectors/<uuid:connector_id>/edit")
@login_required
def edit(connector_id: uuid.UUID):
    """The edit form (creator or org admin); secrets are masked, never sent back."""
    who = current_requester()
    connector = connectors.get_editable(who, connector_id)
    document = connectors.present(connector)["connector_metadata"]
    return _form_page(who, connector.connector_id, connector=connector, document=document,
                      name=connector.connector_name)


@bp.post("/connectors/<uuid:connector_id>/edit")
@login_required
def update(connector_id: uuid.UUID):
    """Save name and metadata; an untouched secret keeps its stored value."""
    who = current_requester()
    return _save(who, connectors.get_editable(who, connector_id))


def _save(who, connector=None):
    """Create (no connector) or update through the API's service; the form again with its errors."""
    data, shown, problems, connector_id = _submitted(request.form, connector)
    try:
        if connector is None:
            saved = connectors.create(who, data, problems, **_write_settings())
        else:
            saved = connectors.update(who, connector, data, problems, **_write_settings())
    except errors.ValidationFailed as exc:
        return _form_page(who, connector_id, connector=connector, document=shown,
                          name=request.form.get("connector_name", ""),
                          messages=with_path_advice(connector_id, exc.messages, request.form.get(PATH_ATTR, "")),
                          status=400)
    flash(f"Connector “{saved['connector_name']}” {'created' if connector is None else 'saved'}.", "success")
    return redirect(url_for("web_connectors.index"), code=303)


@bp.get("/connectors/<uuid:connector_id>/delete")
@login_required
def confirm_delete(connector_id: uuid.UUID):
    """Confirmation page (used when the in-page dialog is not available)."""
    who = current_requester()
    connector = connectors.get_editable(who, connector_id)
    return render_template("connectors/delete.html", row=connector_listing.describe(who, connector))


@bp.post("/connectors/<uuid:connector_id>/delete")
@login_required
def delete(connector_id: uuid.UUID):
    """Delete the connector; refused with a clear message while a workflow uses it (409)."""
    connector = connectors.get_editable(current_requester(), connector_id)
    name = connector.connector_name
    return delete_then_list(lambda: connectors.delete_connector(connector), f"Connector “{name}” deleted.",
                            f"“{name}” was not deleted:",
                            "Point those workflows' source or destination at another connector first.",
                            "web_connectors.index")
