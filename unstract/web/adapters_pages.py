"""Adapters pages: the org's LLM connections. Everyone lists them; org admins create, edit, test and delete.

The key is write-only: the form never gets it back, an empty key input on edit keeps the stored one, and
pages show only the service's hint (the last 4 characters). Saving goes through services.adapters, the
same rules as the API.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from unstract import errors
from unstract.errors import FieldMessage
from unstract.jsonschemas import ADAPTER_CONFIG
from unstract.schemas.adapter_input import AdapterCreateSchema
from unstract.schemas.parsing import parse
from unstract.services import adapters
from unstract.web.context import current_requester, delete_then_list, is_htmx
from unstract.web.schema_forms import build_fields, errors_by_attr, read_form, unplaced

bp = Blueprint("web_adapters", __name__)
PREFIX = "config"
FORM_ATTRS = ("name",)
# Labels and hints of the form only; the rules stay those of the configuration schema.
_LABELS = {
    "base_url": ("Base URL", "The /v1 root of the service: https://api.openai.com/v1, or a local server such as "
                             "http://localhost:11434/v1 (Ollama) or http://localhost:8080/v1 (llama.cpp)."),
    "api_key": ("API key", "Stored encrypted and never shown again."),
    "model": ("Model", "The model name sent with each request, e.g. gpt-4o-mini or llama3.1."),
    "timeout_seconds": ("Timeout (seconds)", "For one HTTP call."),
    "max_retries": ("Retries", "On rate limits, server errors, timeouts and connection errors."),
    "max_concurrency": ("Calls at once", "Calls in flight for this adapter across all workers."),
    "input_cost_per_million": ("Input cost (USD per 1M tokens)", "Leave empty when unknown."),
    "output_cost_per_million": ("Output cost (USD per 1M tokens)", "Leave empty when unknown."),
    "supports_json_schema": ("The service supports JSON schema replies",
                             "Turn off for servers that only know the json_object response format."),
}
FORM_SCHEMA = {**ADAPTER_CONFIG, "properties": {
    key: {**prop, "title": _LABELS[key][0], "description": _LABELS[key][1]}
    for key, prop in ADAPTER_CONFIG["properties"].items()}}


def _secret_key():
    return current_app.config["SECRET_KEY"]


def _form_page(who, *, adapter=None, name="", config=None, messages=(), status=200):
    """The create/edit form; the key input is always empty (the hint says whether one is stored)."""
    errs = errors_by_attr(messages)
    fields = build_fields(FORM_SCHEMA, config or {}, PREFIX, errs)
    top = [m for m in messages if m.attr not in FORM_ATTRS]
    shown = adapters.present(adapter) if adapter is not None else None
    return render_template("adapters/form.html", who=who, adapter=shown, name=name, fields=fields,
                           errors=errs, top_errors=unplaced(top, fields)), status


def _submitted(form: MultiDict) -> tuple[dict, list[FieldMessage]]:
    """(body for the service, problems found while reading the inputs)."""
    data, problems = parse(AdapterCreateSchema(only=FORM_ATTRS), {"name": form.get("name", "")})
    config, config_problems = read_form(FORM_SCHEMA, form, PREFIX)
    bad = {problem.attr for problem in config_problems}
    data["config"] = {key: value for key, value in config.items() if f"{PREFIX}.{key}" not in bad}
    return data, problems + config_problems


# --- Pages ---------------------------------------------------------------------------------------

@bp.get("/adapters")
@login_required
def index():
    """The org's adapters with their model, service and the workflows using them."""
    who = current_requester()
    return render_template("adapters/index.html", who=who, rows=adapters.list_for_page(who))


@bp.get("/adapters/new")
@login_required
def new():
    who = current_requester()
    adapters.require_admin(who)
    return _form_page(who)


@bp.post("/adapters")
@login_required
def create():
    who = current_requester()
    adapters.require_admin(who)
    return _save(who)


@bp.get("/adapters/<uuid:adapter_id>/edit")
@login_required
def edit(adapter_id: uuid.UUID):
    who = current_requester()
    adapter = adapters.get_editable(who, adapter_id)
    return _form_page(who, adapter=adapter, name=adapter.name, config=adapter.config)


@bp.post("/adapters/<uuid:adapter_id>/edit")
@login_required
def update(adapter_id: uuid.UUID):
    who = current_requester()
    return _save(who, adapters.get_editable(who, adapter_id))


def _save(who, adapter=None):
    """Create (no adapter) or update through the API's service; the form again with its errors (400)."""
    data, problems = _submitted(request.form)
    try:
        if adapter is None:
            saved = adapters.create(who, data, problems, secret_key=_secret_key())
        else:
            saved = adapters.update(who, adapter, data, problems, secret_key=_secret_key())
    except errors.ValidationFailed as exc:
        shown = {key: value for key, value in data["config"].items() if key != "api_key"}
        return _form_page(who, adapter=adapter, name=request.form.get("name", ""), config=shown,
                          messages=exc.messages, status=400)
    flash(f"Adapter “{saved['name']}” {'created' if adapter is None else 'saved'}.", "success")
    return redirect(url_for("web_adapters.index"), code=303)


@bp.post("/adapters/<uuid:adapter_id>/test")
@login_required
def test(adapter_id: uuid.UUID):
    """One minimal call to the service; the answer in place (htmx) or as a message."""
    adapter = adapters.get_editable(current_requester(), adapter_id)
    outcome = adapters.test_connection(adapter, _secret_key())
    if is_htmx():
        return render_template("adapters/_test_result.html", adapter_id=adapter.id, outcome=outcome)
    if outcome["ok"]:
        flash(f"“{adapter.name}” answered: model {outcome['model']} in {outcome['latency_ms']:.0f} ms.", "success")
    else:
        flash(f"“{adapter.name}” did not answer: {outcome['error']}", "error")
    return redirect(url_for("web_adapters.index"), code=303)


@bp.get("/adapters/<uuid:adapter_id>/delete")
@login_required
def confirm_delete(adapter_id: uuid.UUID):
    """Confirmation page (used when the in-page dialog is not available)."""
    adapter = adapters.get_editable(current_requester(), adapter_id)
    row = {"adapter": adapters.present(adapter), "used_by": adapters.workflows_using(adapter)}
    return render_template("adapters/delete.html", row=row)


@bp.post("/adapters/<uuid:adapter_id>/delete")
@login_required
def delete(adapter_id: uuid.UUID):
    """Delete the adapter; refused with a readable message while a workflow's step uses it (409)."""
    adapter = adapters.get_editable(current_requester(), adapter_id)
    return delete_then_list(lambda: adapters.delete_adapter(adapter), f"Adapter “{adapter.name}” deleted.",
                            f"“{adapter.name}” was not deleted:",
                            "Choose another adapter in those workflows' LLM extractor steps first.",
                            "web_adapters.index")
