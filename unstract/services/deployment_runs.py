"""Running an API deployment with a deployment key (docs/API.md, Running a deployment): the lookups in the
documented order, the execute call on the deployment's workflow, and the answers in Unstract's shape."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass

from sqlalchemy import false, select
from sqlalchemy.orm import undefer

from unstract import errors
from unstract.config import Settings
from unstract.extensions import db
from unstract.models import (
    TERMINAL,
    ApiDeployment,
    DeploymentKey,
    DeploymentRun,
    Execution,
    FileExecution,
    Organization,
    OrgRole,
    Status,
    User,
)
from unstract.policy import Requester, hash_api_key, is_valid_org_id
from unstract.services import throttle
from unstract.services.deployments import endpoint_path, owners_of
from unstract.services.executions import ExecuteCommand, RunOrigin, execute
from unstract.services.usage import present_usage

MAX_TIMEOUT = 300
RATE_KIND = "deployment-key"


@dataclass(frozen=True)
class ResultOptions:
    """What each FileResult carries besides the output."""

    include_metadata: bool = False
    include_metrics: bool = False
    include_extracted_text: bool = False


def find_deployment(org_id: str, api_name: str, token: str | None) -> tuple[Organization, ApiDeployment,
                                                                             DeploymentKey | None]:
    """The active deployment `api_name` of org `org_id` (404 for anything else) and, read in the same query,
    its key whose digest is the token's (None when the token is no key of this deployment, or there is no
    token)."""
    if not is_valid_org_id(org_id):
        raise errors.NotFound()
    key_matches = DeploymentKey.key_hash == hash_api_key(token) if token is not None else false()
    row = db.session.execute(
        select(Organization, ApiDeployment, DeploymentKey)
        .join(ApiDeployment, ApiDeployment.organization_id == Organization.id)
        .outerjoin(DeploymentKey, (DeploymentKey.deployment_id == ApiDeployment.id) & key_matches)
        .where(Organization.org_id == org_id, ApiDeployment.api_name == api_name)).first()
    if row is None or not row.ApiDeployment.is_active:
        raise errors.NotFound()
    return row.Organization, row.ApiDeployment, row.DeploymentKey


def authenticate(key: DeploymentKey | None, token: str | None) -> DeploymentKey:
    """An active key of the deployment; any other key (an org API key too), or none, is 401
    authentication_failed."""
    if key is None or token is None or not key.is_active \
            or not hmac.compare_digest(key.key_hash, hash_api_key(token)):
        raise errors.AuthenticationFailed()
    return key


def check_rate(key: DeploymentKey, settings: Settings) -> None:
    """The per-key limit, counted in Redis so every web process shares it."""
    calls, window = settings.deployment_rate_limit
    wait = throttle.count_call(RATE_KIND, str(key.id), calls, window)
    if wait:
        raise errors.Throttled(f"Rate limit of {calls} calls per {window} s exceeded for this key; "
                               f"retry in {wait} second(s).", retry_after=wait)


def run_execution(deployment: ApiDeployment, execution_id: uuid.UUID) -> Execution:
    """An execution this deployment started; 404 for any other."""
    execution = db.session.scalar(select(Execution).join(DeploymentRun, DeploymentRun.execution_id == Execution.id)
                                  .where(Execution.id == execution_id,
                                         DeploymentRun.deployment_id == deployment.id))
    if execution is None:
        raise errors.NotFound()
    return execution


def clamp_timeout(timeout: int) -> int:
    """≤ 0 queues and answers at once; above, the wait is at most 300 s."""
    return 0 if timeout <= 0 else min(timeout, MAX_TIMEOUT)


def _acting_requester(org: Organization, deployment: ApiDeployment) -> Requester:
    """The deployment acts for its creator (or else an owner of its workflow) with the rights of the org."""
    user_id = deployment.created_by or next(iter(owners_of(deployment.workflow_id)), None)
    user = db.session.get(User, user_id) if user_id else None
    if user is None:
        raise errors.NotFound()
    return Requester(user=user, org=org, role=OrgRole.ADMIN)


def start(org: Organization, deployment: ApiDeployment, key: DeploymentKey, command: ExecuteCommand,
          origin: RunOrigin, options: ResultOptions, settings: Settings) -> tuple[dict, int]:
    """Execute the deployment's workflow; the answer body and its status code."""
    command.workflow_id = deployment.workflow_id
    command.origin = origin
    org_id, api_name = org.org_id, deployment.api_name
    answer = execute(_acting_requester(org, deployment), command, settings).response
    execution_id, status = answer["execution_id"], answer["execution_status"]
    body = {
        "execution_id": execution_id,
        "execution_status": status,
        "status_api": f"{endpoint_path(org_id, api_name)}?execution_id={execution_id}",
        "error": answer["error"] or None,
        "result": _results(uuid.UUID(execution_id), status, options, _custom_data(command, origin)),
    }
    return {"message": body}, 422 if status == Status.ERROR else 200


def _custom_data(command: ExecuteCommand, origin: RunOrigin):
    """The custom_data stored with the execution: this call's, or the first call's for a replay."""
    if command.idempotency_key is None:
        return origin.custom_data
    return None  # read from the run row


def status_body(execution: Execution, options: ResultOptions) -> dict:
    return {"status": execution.status, "message": file_results(execution, options)}


def file_results(execution: Execution, options: ResultOptions) -> list[dict] | None:
    """One FileResult per file once the execution is terminal, else None."""
    return _results(execution.id, execution.status, options, None)


def _results(execution_id: uuid.UUID, status: str, options: ResultOptions, custom_data) -> list[dict] | None:
    if status not in TERMINAL:
        return None
    if custom_data is None and options.include_metadata:
        custom_data = db.session.scalar(select(DeploymentRun.custom_data)
                                        .where(DeploymentRun.execution_id == execution_id))
    loaded = [FileExecution.result, *([FileExecution.extracted_text] if options.include_extracted_text else [])]
    files = db.session.scalars(select(FileExecution).where(FileExecution.execution_id == execution_id)
                               .order_by(FileExecution.file_number)
                               .options(*(undefer(column) for column in loaded)))
    return [_file_result(fe, options, custom_data) for fe in files]


def _file_result(fe: FileExecution, options: ResultOptions, custom_data) -> dict:
    item = {
        "file": fe.file_name,
        "file_execution_id": str(fe.id),
        "status": "Success" if fe.status == Status.COMPLETED else "Failed",
        "result": fe.result,
        "error": fe.execution_error or None,
        "metadata": _metadata(fe, custom_data) if options.include_metadata else None,
        "extracted_text": _extracted_text(fe) if options.include_extracted_text else None,
    }
    if options.include_metrics:
        item["metrics"] = {"total_elapsed_time": fe.execution_time, "file_size": fe.file_size}
    return item


def _metadata(fe: FileExecution, custom_data) -> dict:
    return {"source_name": fe.file_name, "source_hash": fe.file_hash, "total_elapsed_time": fe.execution_time,
            "usage": present_usage(fe), "custom_data": custom_data}


def _extracted_text(fe: FileExecution) -> str | None:
    """The text the file's first text-producing step extracted; for a file without one (its result reused
    from file history, or processed before that text was kept) the text its output carries, if any."""
    if fe.extracted_text is not None:
        return fe.extracted_text
    if isinstance(fe.result, dict) and isinstance(fe.result.get("text"), str):
        return fe.result["text"]
    return None
