"""Connectors pages: list, create, edit (secrets never shown back) and delete (refused while in use)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from unstract import errors
from unstract.errors import FieldMessage
from unstract.jsonschemas import CONNECTOR_METADATA
from unstract.services import connector_listing, connectors
from unstract.services.secrets import MASK
from unstract.web.context import current_requester, errors_by_field, is_htmx

bp = Blueprint("web_connectors", __name__)
PREFIX = "connector_metadata."
DEFAULT_TYPE = "local_storage"
NAME_MAX = 128
ACRONYMS = {"url": "URL", "id": "ID"}


# --- Form <-> JSON Schema -----------------------------------------------------------------------

def _label(name: str, prop: dict) -> str:
    if prop.get("title"):
        return prop["title"]
    words = [ACRONYMS.get(word, word) for word in name.split("_")]
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


def _kind(prop: dict) -> str:
    if prop.get("writeOnly"):
        return "password"
    if prop.get("type") == "boolean":
        return "checkbox"
    if "enum" in prop:
        return "select"
    return "number" if prop.get("type") in ("integer", "number") else "text"


def metadata_fields(connector_id: str, values: dict, *, editing: bool = False) -> list[dict]:
    """One form field per property of the type's metadata schema (§5.5), in schema order."""
    schema = CONNECTOR_METADATA[connector_id]
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        kind = _kind(prop)
        value = values.get(name, prop.get("default", ""))
        fields.append({
            "name": PREFIX + name, "id": "field-" + name, "label": _label(name, prop), "kind": kind,
            "required": name in required, "hint": prop.get("description"), "options": prop.get("enum", []),
            "value": "" if kind == "password" else value, "min": prop.get("minimum"), "max": prop.get("maximum"),
            "maxlength": prop.get("maxLength"), "secret_set": kind == "password" and value == MASK,
            "editing": editing,
        })
    return fields


def _form_value(prop: dict, raw: str) -> Any:
    """A typed value from a form string; a non-number is passed on for the schema to reject."""
    if prop.get("type") == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    return raw


def metadata_from_form(connector_id: str, form: MultiDict, *, editing: bool) -> dict:
    """The connector_metadata document the form describes; empty optional fields take schema defaults.

    On edit an empty secret means "keep the stored one" (sent as the mask, §2.3); the "clear" box empties it.
    """
    document: dict[str, Any] = {}
    for name, prop in CONNECTOR_METADATA[connector_id].get("properties", {}).items():
        key = PREFIX + name
        raw = form.get(key, "")
        if prop.get("writeOnly"):
            if editing and form.get(key + ".clear"):
                document[name] = ""
            elif raw:
                document[name] = raw
            elif editing:
                document[name] = MASK
        elif prop.get("type") == "boolean":
            document[name] = key in form
        elif raw.strip():
            document[name] = _form_value(prop, raw.strip())
    return document


def _name_from_form(form: MultiDict) -> tuple[dict, list[FieldMessage]]:
    """connector_name as the API schema reads it: required, trimmed, not blank, at most 128 characters."""
    raw = form.get("connector_name")
    if raw is None:
        return {}, [FieldMessage("required", "This field is required.", "connector_name")]
    name = raw.strip()
    if not name:
        return {}, [FieldMessage("blank", "This field may not be blank.", "connector_name")]
    if len(name) > NAME_MAX:
        detail = f"Ensure this field has no more than {NAME_MAX} characters."
        return {}, [FieldMessage("max_length", detail, "connector_name")]
    return {"connector_name": name}, []


def _known_attrs(connector_id: str) -> set[str]:
    properties = CONNECTOR_METADATA.get(connector_id, {}).get("properties", {})
    return {"connector_name", "connector_id"} | {PREFIX + name for name in properties}


def _write_settings() -> dict:
    return {"roots": current_app.config["UNSTRACT_SETTINGS"].local_storage_roots,
            "secret_key": current_app.config["SECRET_KEY"]}


def _form_page(who, connector_id: str, *, connector=None, values=None, name="", errs=None, status=200):
    """The create/edit form; on edit the type is fixed and secrets show only as set/unset."""
    info = connector_listing.describe(who, connector) if connector is not None else None
    context = {"who": who, "types": connectors.connector_types(), "connector_id": connector_id,
               "type_name": connectors.TYPE_NAMES[connector_id], "info": info, "name": name,
               "fields": metadata_fields(connector_id, values or {}, editing=connector is not None),
               "errors": errs or {}}
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
    """The create form for the chosen type; only its metadata fields for htmx (type switch)."""
    who = current_requester()
    connector_id = request.args.get("connector_id", DEFAULT_TYPE)
    connector_id = connector_id if connector_id in connectors.CONNECTOR_IDS else DEFAULT_TYPE
    if is_htmx():
        return render_template("connectors/_metadata_fields.html", errors={},
                               fields=metadata_fields(connector_id, {}), type_name=connectors.TYPE_NAMES[connector_id])
    return _form_page(who, connector_id, name=request.args.get("connector_name", ""))


def _submitted(form: MultiDict, connector=None) -> tuple[dict, list[FieldMessage], str]:
    """The body the form stands for, the problems found while reading it, and the type to show."""
    data, problems = _name_from_form(form)
    connector_id = connector.connector_id if connector is not None else form.get("connector_id", "")
    if connector_id not in connectors.CONNECTOR_IDS:
        problems.append(FieldMessage("invalid_choice", f'"{connector_id}" is not a valid choice.', "connector_id"))
        return data, problems, DEFAULT_TYPE
    if connector is None:
        data["connector_id"] = connector_id
    data["connector_metadata"] = metadata_from_form(connector_id, form, editing=connector is not None)
    return data, problems, connector_id


def _masked_secrets(connector) -> dict:
    """Whether each stored secret is set ("********") or empty (""), as the API shows it."""
    masked = connectors.present(connector)["connector_metadata"]
    properties = CONNECTOR_METADATA[connector.connector_id]["properties"]
    return {name: masked.get(name, "") for name, prop in properties.items() if prop.get("writeOnly")}


def _invalid(who, exc: errors.ValidationFailed, connector_id: str, data: dict, connector=None):
    """The form again with what the user typed (never a secret) and each message next to its field."""
    values = {**data.get("connector_metadata", {}), **(_masked_secrets(connector) if connector else {})}
    return _form_page(who, connector_id, connector=connector, values=values,
                      name=request.form.get("connector_name", ""),
                      errs=errors_by_field(exc, _known_attrs(connector_id)), status=400)


@bp.post("/connectors")
@login_required
def create():
    """Create a connector; field errors are shown next to their fields (400)."""
    who = current_requester()
    data, problems, connector_id = _submitted(request.form)
    try:
        created = connectors.create(who, data, problems, **_write_settings())
    except errors.ValidationFailed as exc:
        return _invalid(who, exc, connector_id, data)
    flash(f"Connector “{created['connector_name']}” created.", "success")
    return redirect(url_for("web_connectors.index"), code=303)


@bp.get("/connectors/<uuid:connector_id>/edit")
@login_required
def edit(connector_id: uuid.UUID):
    """The edit form (creator or org admin); secrets are masked, never sent back."""
    who = current_requester()
    connector = connectors.get_editable(who, connector_id)
    shown = connectors.present(connector)
    return _form_page(who, connector.connector_id, connector=connector, values=shown["connector_metadata"],
                      name=connector.connector_name)


@bp.post("/connectors/<uuid:connector_id>/edit")
@login_required
def update(connector_id: uuid.UUID):
    """Save name and metadata; an untouched secret keeps its stored value."""
    who = current_requester()
    connector = connectors.get_editable(who, connector_id)
    data, problems, shown = _submitted(request.form, connector)
    try:
        saved = connectors.update(who, connector, data, problems, **_write_settings())
    except errors.ValidationFailed as exc:
        return _invalid(who, exc, shown, data, connector)
    flash(f"Connector “{saved['connector_name']}” saved.", "success")
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
    try:
        connectors.delete_connector(connector)
    except errors.Conflict as exc:
        flash(f"“{name}” was not deleted: {exc.messages[0].detail} Point those workflows' source or "
              "destination at another connector first.", "error")
        return redirect(url_for("web_connectors.index"), code=303)
    flash(f"Connector “{name}” deleted.", "success")
    return redirect(url_for("web_connectors.index"), code=303)
