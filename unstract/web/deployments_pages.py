"""API deployments page: list, create, activate/deactivate, keys (the plaintext shown once), the endpoint
with copyable curl and unstract-client examples, and recent runs (docs/API.md, API deployments)."""

from __future__ import annotations

import uuid

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from unstract import errors
from unstract.extensions import db
from unstract.hosts import absolute_url
from unstract.models import Execution, Workflow
from unstract.policy import visible_workflows
from unstract.services import deployments
from unstract.web.context import current_requester, errors_by_field

bp = Blueprint("web_deployments", __name__)
FIELDS = {"display_name", "api_name", "description", "workflow"}


def _api_workflows(who) -> list[Workflow]:
    """Visible workflows; the form lists them all and the service says which ones qualify."""
    return list(db.session.scalars(visible_workflows(who).order_by(Workflow.workflow_name)))


def _recent_executions(shown: list[dict]) -> dict[str, Execution]:
    """The executions behind the listed recent-run statuses, by id: their badges count failed files too."""
    ids = [uuid.UUID(run["execution_id"]) for row in shown for run in row["last_5_run_statuses"]]
    if not ids:
        return {}
    return {str(e.id): e for e in db.session.scalars(select(Execution).where(Execution.id.in_(ids)))}


def _index(who, *, status: int = 200, errors_: dict | None = None, form: dict | None = None):
    rows = db.session.scalars(deployments.list_query(who).order_by(deployments.ApiDeployment.created_at.desc()))
    shown = deployments.present_page(list(rows), who)
    return make_response(render_template(
        "deployments/index.html", who=who, deployments=shown, recent_runs=_recent_executions(shown),
        workflows=_api_workflows(who), errors=errors_ or {}, form=form or {}), status)


@bp.get("/deployments")
@login_required
def index():
    return _index(current_requester())


@bp.post("/deployments")
@login_required
def create():
    who = current_requester()
    form = {name: request.form.get(name, "").strip() for name in FIELDS}
    try:
        workflow_id = uuid.UUID(form["workflow"])
    except ValueError:
        return _index(who, status=400, form=form, errors_={"workflow": ["Choose a workflow."]})
    try:
        created = deployments.create(who, {**form, "workflow": workflow_id})
    except errors.DomainError as exc:
        return _index(who, status=exc.status, form=form, errors_=errors_by_field(exc, FIELDS))
    return redirect(url_for("web_deployments.detail", deployment_id=created["id"]), code=303)


def _detail(who, deployment, *, created_key: str | None = None, status: int = 200):
    shown = deployments.present_one(deployment, who)
    return make_response(render_template(
        "deployments/detail.html", who=who, deployment=shown, endpoint=absolute_url(shown["api_endpoint"]),
        keys=deployments.list_keys(deployment), created_key=created_key,
        runs=deployments.recent_runs(deployment.id, 20)), status)


@bp.get("/deployments/<uuid:deployment_id>")
@login_required
def detail(deployment_id: uuid.UUID):
    who = current_requester()
    return _detail(who, deployments.get_visible(who, deployment_id, owner=True))


@bp.post("/deployments/<uuid:deployment_id>/active")
@login_required
def toggle(deployment_id: uuid.UUID):
    who = current_requester()
    deployment = deployments.get_visible(who, deployment_id, owner=True)
    deployments.update(who, deployment, {"is_active": not deployment.is_active})
    return redirect(url_for("web_deployments.detail", deployment_id=deployment_id), code=303)


@bp.post("/deployments/<uuid:deployment_id>/keys")
@login_required
def create_key(deployment_id: uuid.UUID):
    """A new key; its plaintext is in this response only."""
    who = current_requester()
    deployment = deployments.get_visible(who, deployment_id, owner=True)
    plaintext, _ = deployments.create_key(who, deployment, request.form.get("description", "")[:255])
    return _detail(who, deployment, created_key=plaintext, status=201)


@bp.post("/deployments/<uuid:deployment_id>/keys/<uuid:key_id>/active")
@login_required
def toggle_key(deployment_id: uuid.UUID, key_id: uuid.UUID):
    who = current_requester()
    deployment = deployments.get_visible(who, deployment_id, owner=True)
    key = deployments.get_key(deployment, key_id)
    deployments.set_key_active(key, not key.is_active)
    return redirect(url_for("web_deployments.detail", deployment_id=deployment_id), code=303)


@bp.post("/deployments/<uuid:deployment_id>/delete")
@login_required
def delete(deployment_id: uuid.UUID):
    deployments.delete(deployments.get_visible(current_requester(), deployment_id, owner=True))
    return redirect(url_for("web_deployments.index"), code=303)


