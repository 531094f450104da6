"""The routes Unstract's own clients call (docs/API.md, Running a deployment; Platform-key routes):
`/deployment/api/<org_id>/<api_name>/` with a deployment key, and `whoami` with an org API key."""

from __future__ import annotations

import json
import time

from flask import Blueprint, current_app, jsonify, request

from unstract import errors
from unstract.api.common import unsupported_media_type
from unstract.api.deployments.schemas import RunFormSchema, StatusQuerySchema
from unstract.auth import BEARER_HEADER, WHOAMI_PATH, api_key, check_body_size, requester, throttled_key_check
from unstract.schemas.fields import integer_text
from unstract.schemas.parsing import load_schema
from unstract.services import deployment_runs
from unstract.services.deployment_runs import ResultOptions
from unstract.services.executions import ExecuteCommand, RunOrigin
from unstract.services.idempotency import check_key
from unstract.services.uploads import UploadPart

RUN_PATH = "/deployment/api/<org_id>/<api_name>/"
MAX_TAG_CHARS = 128

runs = Blueprint("deployment_runs", __name__)


def _bearer_token() -> str | None:
    """The key of a `Bearer <key>` header; None for a header of another form (refused like an unknown key
    once the deployment is found); 401 not_authenticated without the header."""
    header = request.headers.get("Authorization")
    if header is None:
        raise errors.NotAuthenticated()
    match = BEARER_HEADER.fullmatch(header)
    return match.group(1) if match else None


def _authenticated(org_id: str, api_name: str):
    """401 no header, 404 deployment, 401 key (or a header of another form): the documented order. Bad keys
    count towards the per-address limit of failed authentications, as on the org API."""
    token = _bearer_token()
    org, deployment, key = deployment_runs.find_deployment(org_id, api_name, token)
    key = throttled_key_check(lambda: deployment_runs.authenticate(key, token))
    return org, deployment, key


def _timeout(raw: str | None) -> int:
    if raw is None or raw == "":
        return deployment_runs.MAX_TIMEOUT
    value = integer_text(raw.strip())
    if value is None:
        raise errors.field_error("timeout", "invalid", "A valid integer is required.")
    return deployment_runs.clamp_timeout(value)


def _tags(raw: str) -> tuple[str, ...]:
    tags = tuple(dict.fromkeys(t.strip() for t in raw.split(",") if t.strip()))
    if any(len(t) > MAX_TAG_CHARS for t in tags):
        raise errors.field_error("tags", "invalid", f"A tag has at most {MAX_TAG_CHARS} characters.")
    return tags


def _custom_data(raw: str | None):
    if raw is None:
        return None
    try:
        return json.loads(raw, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    except (ValueError, RecursionError):
        raise errors.field_error("custom_data", "invalid", "custom_data must be JSON text.") from None


def _multipart_form() -> dict:
    """The form fields of a multipart body; a body of another type is 415 (an empty one has no fields)."""
    if request.mimetype == "multipart/form-data":
        return request.form.to_dict(flat=True)
    if request.get_data(cache=True):
        raise unsupported_media_type(request.content_type or "")
    return {}


@runs.post(RUN_PATH)
def run_deployment(org_id: str, api_name: str):
    """Execute the deployment's workflow on the uploaded files."""
    received_at = time.monotonic()
    org, deployment, key = _authenticated(org_id, api_name)
    settings = current_app.config["UNSTRACT_SETTINGS"]
    deployment_runs.check_rate(key, settings)
    check_body_size()
    form = _multipart_form()
    if "presigned_urls" in form:
        raise errors.ValidationFailed("presigned_urls are not supported; upload the files.",
                                      code="not_supported", attr="presigned_urls")
    data = load_schema(RunFormSchema(), form)
    origin = RunOrigin(deployment_id=deployment.id, key_id=key.id, tags=_tags(data["tags"]),
                       custom_data=_custom_data(form.get("custom_data")))
    parts = [UploadPart.of(f) for f in request.files.getlist("files")]
    command = ExecuteCommand(workflow_id=deployment.workflow_id, timeout=_timeout(data["timeout"]), parts=parts,
                             received_at=received_at,
                             idempotency_key=check_key(request.headers.get("Idempotency-Key")))
    options = ResultOptions(data["include_metadata"], data["include_metrics"], data["include_extracted_text"])
    body, status = deployment_runs.start(org, deployment, key, command, origin, options, settings)
    return jsonify(body), status


@runs.get(RUN_PATH)
def deployment_status(org_id: str, api_name: str):
    """The status of an execution this deployment started, with its results once terminal (repeatable)."""
    _, deployment, key = _authenticated(org_id, api_name)
    args = load_schema(StatusQuerySchema(), request.args.to_dict(flat=True))
    execution = deployment_runs.run_execution(deployment, args["execution_id"])
    deployment_runs.check_rate(key, current_app.config["UNSTRACT_SETTINGS"])
    options = ResultOptions(args["include_metadata"], args["include_metrics"], args["include_extracted_text"])
    return jsonify(deployment_runs.status_body(execution, options))


@runs.get(WHOAMI_PATH)
def whoami():
    """The org API key's organization and tier (the guard resolved both); the key's name, or its prefix
    when it has none."""
    who, key = requester(), api_key()
    return jsonify({"key_name": key.name or key.key_prefix, "organization_id": who.org.org_id,
                    "organization_name": who.org.name, "permission": key.permission})
