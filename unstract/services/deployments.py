"""API deployments managed in an org (docs/API.md, API deployments): create, list with run statistics,
change, delete; and their keys (the plaintext shown once, a digest stored)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, or_, select

from unstract import errors
from unstract.errors import FieldMessage
from unstract.extensions import db
from unstract.models import (
    ApiDeployment,
    DeploymentKey,
    DeploymentRun,
    EndpointType,
    Execution,
    User,
    Workflow,
    WorkflowMembership,
    WorkflowRole,
)
from unstract.policy import Requester, get_visible_workflow, hash_api_key, is_owner, visible_workflows
from unstract.querying import like_contains
from unstract.schemas.fields import Timestamp
from unstract.services.validation import commit_or_duplicate

API_NAME = re.compile(r"[A-Za-z0-9_-]{1,30}")
KEY_PREFIX = "ud_"  # deployment keys; org API keys start with uk_, so the two are never confused
DUPLICATE_API_NAME = "A deployment with this api_name already exists in the organization."
ORDERING = {
    "display_name": ApiDeployment.display_name,
    "api_name": ApiDeployment.api_name,
    "created_at": ApiDeployment.created_at,
    "modified_at": ApiDeployment.modified_at,
}
DEFAULT_ORDERING = "-created_at"
PRIMARY_KEY = ApiDeployment.id
RECENT_RUNS = 5
TIMESTAMP = Timestamp()


def wire_timestamp(value) -> str:
    """The API's form of a timestamp (docs/API.md, Timestamps and formats)."""
    return TIMESTAMP.serialize("value", {"value": value})


def endpoint_path(org_id: str, api_name: str) -> str:
    """The run route of a deployment, relative to the service's origin."""
    return f"/deployment/api/{org_id}/{api_name}/"


# --- Reading ------------------------------------------------------------------------------------

def list_query(who: Requester, *, api_name: str | None = None, workflow: uuid.UUID | None = None,
               search: str | None = None) -> Select:
    """The org's deployments whose workflow the requester may see."""
    visible = visible_workflows(who).with_only_columns(Workflow.id)
    query = select(ApiDeployment).where(ApiDeployment.organization_id == who.org.id,
                                        ApiDeployment.workflow_id.in_(visible))
    if api_name is not None:
        query = query.where(ApiDeployment.api_name == api_name)
    if workflow is not None:
        query = query.where(ApiDeployment.workflow_id == workflow)
    if search:
        pattern = like_contains(search.lower())  # %, _ and backslash match themselves
        query = query.where(or_(*(func.lower(column).like(pattern, escape="\\") for column in
                                  (ApiDeployment.display_name, ApiDeployment.api_name, ApiDeployment.description))))
    return query


def get_visible(who: Requester, deployment_id: uuid.UUID, *, owner: bool = False) -> ApiDeployment:
    """A deployment of a workflow the requester sees (404 otherwise); `owner`: 403 unless an owner of it."""
    deployment = db.session.scalar(select(ApiDeployment).where(
        ApiDeployment.id == deployment_id, ApiDeployment.organization_id == who.org.id))
    if deployment is None:
        raise errors.NotFound()
    get_visible_workflow(who, deployment.workflow_id, owner=owner)
    return deployment


def present_page(deployments: Sequence[ApiDeployment], who: Requester) -> list[dict]:
    stats = _run_stats([d.id for d in deployments])
    return [_present(d, who, stats.get(d.id, (0, None))) for d in deployments]


def present_one(deployment: ApiDeployment, who: Requester) -> dict:
    return present_page([deployment], who)[0]


def _run_stats(deployment_ids: list[uuid.UUID]) -> dict:
    if not deployment_ids:
        return {}
    rows = db.session.execute(
        select(DeploymentRun.deployment_id, func.count(), func.max(DeploymentRun.created_at))
        .where(DeploymentRun.deployment_id.in_(deployment_ids)).group_by(DeploymentRun.deployment_id))
    return {row[0]: (row[1], row[2]) for row in rows}


def recent_runs(deployment_id: uuid.UUID, limit: int = RECENT_RUNS) -> list[Execution]:
    return list(db.session.scalars(
        select(Execution).join(DeploymentRun, DeploymentRun.execution_id == Execution.id)
        .where(DeploymentRun.deployment_id == deployment_id)
        .order_by(DeploymentRun.created_at.desc(), Execution.id).limit(limit)))


def _present(deployment: ApiDeployment, who: Requester, stats: tuple) -> dict:
    workflow = deployment.workflow
    run_count, last_run = stats
    owners = [m.user_id for m in workflow.memberships if m.role == WorkflowRole.OWNER]
    emails = _emails([*owners, deployment.created_by])
    return {
        "id": str(deployment.id),
        "display_name": deployment.display_name,
        "api_name": deployment.api_name,
        "description": deployment.description,
        "workflow": str(deployment.workflow_id),
        "workflow_name": workflow.workflow_name,
        "is_active": deployment.is_active,
        "api_endpoint": endpoint_path(who.org.org_id, deployment.api_name),
        "run_count": run_count,
        "last_run_time": wire_timestamp(last_run) if last_run else None,
        "last_5_run_statuses": [
            {"status": e.status, "timestamp": wire_timestamp(e.created_at), "execution_id": str(e.id)}
            for e in recent_runs(deployment.id)],
        "owner_emails": sorted(emails[o] for o in owners if o in emails),
        "co_owners_count": len(owners),
        "is_owner": is_owner(workflow, who),
        "created_by": str(deployment.created_by) if deployment.created_by else None,
        "created_by_email": emails.get(deployment.created_by),
        "created_at": wire_timestamp(deployment.created_at),
        "modified_at": wire_timestamp(deployment.modified_at),
    }


def _emails(user_ids: list) -> dict:
    ids = [i for i in user_ids if i is not None]
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.email).where(User.id.in_(ids))).all())


# --- Writing ------------------------------------------------------------------------------------

def _workflow_error() -> errors.ValidationFailed:
    return errors.field_error("workflow", "invalid",
                              "The workflow must exist and have API as both its source and destination.")


def _check_workflow(who: Requester, workflow_id: uuid.UUID) -> Workflow:
    """A workflow the requester owns (404 unseen, 403 not an owner) whose source and destination are API."""
    workflow = get_visible_workflow(who, workflow_id, owner=True)
    kinds = {e.endpoint_type: e.connection_type for e in workflow.endpoints}
    if kinds.get(EndpointType.SOURCE) != "API" or kinds.get(EndpointType.DESTINATION) != "API":
        raise _workflow_error()
    return workflow


def _check_fields(data: dict, field_errors: Sequence[FieldMessage]) -> None:
    problems = list(field_errors)
    if "api_name" in data and not API_NAME.fullmatch(data["api_name"]):
        problems.append(FieldMessage("invalid", "api_name must be 1-30 letters, digits, _ or -.", "api_name"))
    if problems:
        raise errors.ValidationFailed.of(problems)


def create(who: Requester, data: dict, field_errors: Sequence[FieldMessage] = ()) -> dict:
    _check_fields(data, field_errors)
    workflow = _check_workflow(who, data["workflow"])
    deployment = ApiDeployment(organization_id=who.org.id, workflow_id=workflow.id, created_by=who.user_id,
                               display_name=data["display_name"], api_name=data["api_name"],
                               description=data.get("description", ""), is_active=data.get("is_active", True))
    db.session.add(deployment)
    commit_or_duplicate("api_name", DUPLICATE_API_NAME)
    return present_one(deployment, who)


def update(who: Requester, deployment: ApiDeployment, data: dict,
           field_errors: Sequence[FieldMessage] = ()) -> dict:
    _check_fields(data, field_errors)
    if "workflow" in data:
        deployment.workflow_id = _check_workflow(who, data["workflow"]).id
    for name in ("display_name", "api_name", "description", "is_active"):
        if name in data:
            setattr(deployment, name, data[name])
    commit_or_duplicate("api_name", DUPLICATE_API_NAME)
    db.session.refresh(deployment)
    return present_one(deployment, who)


def delete(deployment: ApiDeployment) -> None:
    """The deployment and its keys; its executions stay as ordinary executions of the workflow."""
    db.session.delete(deployment)
    db.session.commit()


# --- Keys ---------------------------------------------------------------------------------------

def present_key(key: DeploymentKey, plaintext: str | None = None) -> dict:
    shown = {"id": str(key.id), "description": key.description, "is_active": key.is_active,
             "key_prefix": key.key_prefix, "created_at": wire_timestamp(key.created_at)}
    return {**shown, "key": plaintext} if plaintext else shown


def keys_query(deployment: ApiDeployment) -> Select:
    """The deployment's keys, newest first."""
    return (select(DeploymentKey).where(DeploymentKey.deployment_id == deployment.id)
            .order_by(DeploymentKey.created_at.desc(), DeploymentKey.id))


def list_keys(deployment: ApiDeployment) -> list[DeploymentKey]:
    return list(db.session.scalars(keys_query(deployment)))


def create_key(who: Requester, deployment: ApiDeployment, description: str = "") -> tuple[str, DeploymentKey]:
    """A new key of `deployment`; the plaintext is returned only here."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = DeploymentKey(deployment_id=deployment.id, key_hash=hash_api_key(plaintext), key_prefix=plaintext[:8],
                        description=description, created_by=who.user_id)
    db.session.add(key)
    db.session.commit()
    return plaintext, key


def get_key(deployment: ApiDeployment, key_id: uuid.UUID) -> DeploymentKey:
    key = db.session.scalar(select(DeploymentKey).where(DeploymentKey.id == key_id,
                                                        DeploymentKey.deployment_id == deployment.id))
    if key is None:
        raise errors.NotFound()
    return key


def set_key_active(key: DeploymentKey, is_active: bool) -> DeploymentKey:
    key.is_active = is_active
    db.session.commit()
    return key


def delete_key(key: DeploymentKey) -> None:
    db.session.delete(key)
    db.session.commit()


def owners_of(workflow_id: uuid.UUID) -> list[uuid.UUID]:
    return list(db.session.scalars(select(WorkflowMembership.user_id).where(
        WorkflowMembership.workflow_id == workflow_id, WorkflowMembership.role == WorkflowRole.OWNER)))
