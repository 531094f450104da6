"""Workflow detail: source and destination configuration, and sharing (issue 4, item 3).

Routes of the `web_workflows` blueprint (web.workflows_blueprint), shared by the workflows area's page modules.

Every section posts to its own route; htmx swaps the section, a plain form gets the whole page back
(303 to the page on success, the page with the section's errors otherwise). The services are the API's.
"""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from unstract.errors import Conflict, FieldMessage, ValidationFailed
from unstract.jsonschemas import settings_schema_for
from unstract.models import ALLOWED_CONNECTION_TYPES, EndpointType, Workflow, WorkflowEndpoint
from unstract.policy import Requester, get_visible_workflow, is_owner
from unstract.schemas.fields import UUIDField
from unstract.schemas.parsing import parse, parse_value
from unstract.schemas.workflow_input import OwnerCreateSchema, WorkflowWriteSchema
from unstract.services import endpoints, sharing, workflow_pages, workflows
from unstract.web.context import current_requester, is_htmx
from unstract.web.schema_forms import read_form
from unstract.web.workflow_sections import (
    ENDPOINT_SLUGS,
    EndpointSection,
    detail_context,
    endpoint_section,
    run_section,
    sharing_section,
)
from unstract.web.workflows_blueprint import bp, hx_redirect, owned_workflow

SHARING_FIELDS = ("shared_to_org", "shared_users")


def page(who: Requester, workflow: Workflow, status: int = 200, **sections):
    """The whole detail page, with some sections replaced (a failed plain-form post)."""
    return render_template("workflows/detail.html", **detail_context(who, workflow, **sections)), status


def section_response(who: Requester, workflow: Workflow, name: str, section, status: int = 200, *,
                     template: str | None = None, variable: str | None = None):
    """htmx: the section's partial; a plain form: back to the page (success) or the page with errors.

    `name` is the section's key in detail_context and its anchor; the partial is workflows/_<name>.html
    showing the variable <name>, unless `template`/`variable` say otherwise.
    """
    if is_htmx():
        return render_template(template or f"workflows/_{name}.html", **{variable or name: section}), status
    if status < 300:
        if getattr(section, "message", ""):
            flash(section.message, "success")
        return redirect(url_for("web_workflows.detail", workflow_id=workflow.id) + f"#{name}", 303)
    return page(who, workflow, status, **{name: section})


@bp.get("/workflows/<uuid:workflow_id>")
@login_required
def detail(workflow_id: uuid.UUID):
    """Everything about one workflow; owners get the forms, everyone else reads."""
    who = current_requester()
    return page(who, get_visible_workflow(who, workflow_id))


# --- Source and destination -------------------------------------------------------------------

def _endpoint(workflow: Workflow, slug: str) -> WorkflowEndpoint:
    if slug not in ENDPOINT_SLUGS:
        abort(404)
    return workflow.endpoint(ENDPOINT_SLUGS[slug])


def parse_endpoint_form(endpoint: WorkflowEndpoint, form: MultiDict) -> tuple[dict, list[FieldMessage]]:
    """The PATCH body of workflow/endpoint/{id}/ a post describes: connection type, connector, settings document."""
    connection_type = form.get("connection_type", "")
    data: dict = {"connection_type": connection_type, "connector_instance_id": None}
    problems: list[FieldMessage] = []
    raw = form.get("connector_instance_id", "").strip()
    if raw:
        data["connector_instance_id"], problems = parse_value(UUIDField(), raw, "connector_instance_id")
    schema = settings_schema_for(endpoint.endpoint_type, connection_type)
    if connection_type and schema is not None:
        data["configuration"], more = read_form(schema, form, "configuration")
        problems.extend(more)
    return data, problems


@bp.get("/workflows/<uuid:workflow_id>/endpoints/<slug>")
@login_required
def endpoint_form(workflow_id: uuid.UUID, slug: str):
    """The form for another connection type, with its defaults (a preview: nothing is saved)."""
    who, workflow = owned_workflow(workflow_id)
    endpoint = _endpoint(workflow, slug)
    wanted = request.args.get("connection_type")
    allowed = ALLOWED_CONNECTION_TYPES[EndpointType(endpoint.endpoint_type)]
    section = endpoint_section(who, workflow, slug, can_edit=True,
                               connection_type=wanted if wanted in allowed else None)
    if is_htmx():
        return render_template("workflows/_endpoint.html", section=section)
    return page(who, workflow, **{slug: section})


@bp.post("/workflows/<uuid:workflow_id>/endpoints/<slug>")
@login_required
def save_endpoint(workflow_id: uuid.UUID, slug: str):
    """Configure the source or destination through the API's endpoint service (the same rules)."""
    who, workflow = owned_workflow(workflow_id)
    endpoint = _endpoint(workflow, slug)
    data, problems = parse_endpoint_form(endpoint, request.form)
    try:
        endpoints.update(who, endpoint, data, problems)
    except ValidationFailed as exc:
        section = endpoint_section(who, workflow, slug, can_edit=True, connection_type=data["connection_type"],
                                   connector_id=request.form.get("connector_instance_id", ""),
                                   document=data.get("configuration"), messages=exc.messages)
        return _endpoint_response(who, workflow, section, 400)
    return _endpoint_response(who, workflow, endpoint_section(who, workflow, slug, can_edit=True, saved=True))


def _endpoint_response(who: Requester, workflow: Workflow, section: EndpointSection, status: int = 200):
    """The endpoint's section; after a save htmx also gets the Run section, which depends on the source."""
    if is_htmx() and status == 200:
        return (render_template("workflows/_endpoint.html", section=section)
                + render_template("workflows/_run.html", run=run_section(workflow), oob=True))
    return section_response(who, workflow, section.slug, section, status, template="workflows/_endpoint.html",
                            variable="section")


# --- Sharing ----------------------------------------------------------------------------------

@bp.post("/workflows/<uuid:workflow_id>/sharing")
@login_required
def save_sharing(workflow_id: uuid.UUID):
    """Shared users and the org-wide switch, through the workflow update service."""
    who, workflow = owned_workflow(workflow_id)
    raw = request.form.getlist("shared_users")
    data, problems = parse(WorkflowWriteSchema(only=SHARING_FIELDS),
                           {"shared_to_org": "shared_to_org" in request.form, "shared_users": raw})
    try:
        workflows.update(who, workflow, data, problems)
    except ValidationFailed as exc:
        section = sharing_section(who, workflow, can_edit=True, shared_to_org=data["shared_to_org"],
                                  shared_ids=set(raw), messages=exc.messages)
        return section_response(who, workflow, "sharing", section, 400)
    section = sharing_section(who, workflow, can_edit=True, message="Sharing saved.")
    return section_response(who, workflow, "sharing", section)


def _member_id(form: MultiDict) -> uuid.UUID:
    """The chosen member of the add-owner form (400 `required` / `invalid` on attr user_id)."""
    raw = form.get("user_id", "").strip()
    if not raw:
        raise ValidationFailed("Choose a member.", code="required", attr="user_id")
    data, problems = parse(OwnerCreateSchema(), {"user_id": raw})
    if problems:
        raise ValidationFailed.of(problems)
    return data["user_id"]


@bp.post("/workflows/<uuid:workflow_id>/owners")
@login_required
def add_owner(workflow_id: uuid.UUID):
    """Make a member a co-owner (a viewer is promoted), as POST workflow/{id}/owners/."""
    who, workflow = owned_workflow(workflow_id)
    try:
        sharing.add_owner(workflow, _member_id(request.form))
    except ValidationFailed as exc:
        section = sharing_section(who, workflow, can_edit=True, messages=exc.messages)
        return section_response(who, workflow, "sharing", section, 400)
    section = sharing_section(who, workflow, can_edit=True, message="Owner added.")
    return section_response(who, workflow, "sharing", section)


@bp.post("/workflows/<uuid:workflow_id>/owners/<uuid:user_id>/delete")
@login_required
def remove_owner(workflow_id: uuid.UUID, user_id: uuid.UUID):
    """Remove a co-owner; never the last one (409 shown in the section)."""
    who, workflow = owned_workflow(workflow_id)
    try:
        sharing.remove_owner(workflow, user_id)
    except Conflict as exc:
        section = sharing_section(who, workflow, can_edit=True, messages=exc.messages)
        return section_response(who, workflow, "sharing", section, 409)
    if not is_owner(workflow, who):
        flash("You are no longer an owner of this workflow.", "info")
        visible = workflow_pages.is_visible(who, workflow_id)
        return hx_redirect(url_for(".detail", workflow_id=workflow_id) if visible else url_for("web_workflows.index"))
    section = sharing_section(who, workflow, can_edit=True, message="Owner removed.")
    return section_response(who, workflow, "sharing", section)
