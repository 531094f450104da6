"""Schemathesis against the app's own /api/v1/openapi.json, through the WSGI app, as an org admin.

One test per operation (every operation of the document, checked against the routing table), each with
a bounded, derandomized number of generated requests that must: never get a 5xx, get only documented
status codes, the documented content type, and bodies valid against the documented schemas (errors too:
see errors.register_error_responses). Path ids are the org's real objects most of the time, so the
generated bodies reach the validation and the services instead of stopping at a 404.

Execute calls cannot hang: the workflows of the scene are inactive (a new run is refused at once) and
their executions are terminal (STOP/NEXT/CONTINUE are refused at once); `timeout` is also capped at 1 s.
"""

from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.matrix import MATRIX, RULE_VARIABLE
from tests.security.scene import build_scene
from unstract.extensions import db
from unstract.models import Workflow

pytestmark = pytest.mark.slow

PREFIX = "/api/v1/unstract/{org_id}/"
OPERATIONS = sorted((PREFIX + RULE_VARIABLE.sub(r"{\1}", rule), method) for rule, method in MATRIX)
# Not `negative_data_rejection`: the contract accepts some schema-violating bodies on purpose (names are
# trimmed before their maxLength applies; file-history clear ignores the other filters when `ids` is
# given). Negative cases still run, under the checks below.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# UNSTRACT_FUZZ_EXAMPLES raises the bound for a longer hunt outside CI.
FUZZ_SETTINGS = settings(max_examples=int(os.environ.get("UNSTRACT_FUZZ_EXAMPLES", "20")), deadline=None,
                         derandomize=True, database=None, print_blob=True,
                         suppress_health_check=list(HealthCheck),
                         phases=[Phase.explicit, Phase.generate, Phase.shrink])
ID_KEYS = ("workflow_id", "execution_id", "history_id", "instance_id", "endpoint_id", "connector_id", "user_id")


@pytest.fixture
def fuzz_scene(world, storage_root):
    """The acme scene with its workflows made inactive, so that execute never starts a run."""
    scene = build_scene(world, "acme", "owner", storage_root, viewers=("viewer",), co_owner=world.users["member"])
    db.session.execute(db.update(Workflow).values(is_active=False))
    db.session.commit()
    return scene


def real_ids(scene: dict) -> dict:
    ids = scene["private"]
    return {**{key: ids[key] for key in ID_KEYS if key in ids}, "connector_id": scene["connector_id"],
            "user_id": scene["user_id"]}


def case_strategy(operation, ids: dict, token: str):
    """Positive and negative cases, on real path ids (twice as likely) or on generated ones."""
    names = {param.name for param in operation.path_parameters}
    headers = {"Authorization": f"Bearer {token}"}
    real = {"org_id": "acme", **{name: ids[name] for name in names if name in ids}}
    strategies = [operation.as_strategy(mode, path_parameters=path, headers=headers)
                  for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
                  for path in (real, real, {"org_id": "acme"})]
    return st.one_of(strategies)


def is_uuid(value) -> bool:
    try:
        uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


def aim_body(case, ids: dict, use_real: bool) -> None:
    """Swap a generated workflow UUID in a body or query for a real one; cap execute's wait at one second.

    Only well-formed UUIDs are swapped, so a negative case stays invalid.
    """
    body = case.body if isinstance(case.body, dict) else None
    for container in (body, case.query if isinstance(case.query, dict) else None):
        if use_real and container is not None and is_uuid(container.get("workflow_id")):
            container["workflow_id"] = ids["workflow_id"]
    timeout = body.get("timeout") if body is not None else None
    if isinstance(timeout, int) and not isinstance(timeout, bool) and 1 < timeout <= 300:
        body["timeout"] = 1


def openapi_operations(app) -> set[tuple[str, str]]:
    document = app.test_client().get("/api/v1/openapi.json").json
    return {(path, method.upper()) for path, item in document["paths"].items() for method in item
            if method != "parameters"}


def test_the_fuzzed_operations_are_every_operation_of_the_document(app):
    assert openapi_operations(app) == set(OPERATIONS)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p[len(PREFIX):]}" for p, m in OPERATIONS])
def test_generated_requests_get_documented_answers(app, world, fuzz_scene, path, method):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]
    ids = real_ids(fuzz_scene)
    token = world.api("admin").token

    @FUZZ_SETTINGS
    @given(case=case_strategy(operation, ids, token), use_real=st.booleans())
    def fuzz(case, use_real):
        aim_body(case, ids, use_real)
        case.call_and_validate(checks=CHECKS)

    fuzz()

