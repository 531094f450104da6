"""Schemathesis against the app's own /api/v1/openapi.json, through the WSGI app, as an org admin.

One test per operation (every operation of the document, checked against the routing table), each with
a bounded, derandomized number of generated requests that must: never get a 5xx, get only documented
status codes, the documented content type, and bodies valid against the documented schemas (errors too:
see errors.register_error_responses). Path ids are the org's real objects most of the time, so the
generated bodies reach the validation and the services instead of stopping at a 404.

Positive data acceptance: a request the document calls valid must get a 2xx, unless its refusal is one
of the operation's LEGITIMATE_REFUSALS, each a rule the document cannot state (an id that does not exist,
a name already taken, a page past the last, a state rule). Positive requests carry no NUL character:
the API refuses NUL in every string, also in the keys and values of ignored fields, which OpenAPI cannot
say of undeclared properties (docs/API.md, OpenAPI document).

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
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
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
# The refusals of schema-valid requests that are legitimate, per operation: (status, code, attr), where an
# attr ending in `.*` covers the fields under it. A refusal passes when every entry of its envelope is listed.
PAGE_PAST_THE_LAST = (404, "invalid_page", None)
NO_SUCH_OBJECT = (404, "not_found", None)  # a generated id, or an object an earlier example deleted
PAGED = (PAGE_PAST_THE_LAST,)
WORKFLOW_WRITE = (
    NO_SUCH_OBJECT,
    (400, "unique", "workflow_name"),  # the name is taken
    (400, "invalid", "shared_users"),  # shared users must be members of the org
    (400, "unsafe_content", "workflow_name"),  # the content rules are prose (docs/API.md, Request bodies)
    (400, "unsafe_content", "description"),
)
CONNECTOR_WRITE = (
    (400, "unique", "connector_name"),
    (400, "path_not_allowed", "connector_metadata.path"),  # the path must exist inside an allowed root
)
# PATCH: the metadata must fit the connector's (the instance's) stored type, which the document cannot know.
STORED_CONNECTOR_TYPE = ((400, "invalid", "connector_id"), (400, "required", "connector_metadata.*"),
                         (400, "unknown_field", "connector_metadata.*"))
STORED_TOOL = ((400, "required", "metadata.*"), (400, "unknown_field", "metadata.*"))
# field_extractor rules a schema cannot express: the pattern compiles, its group exists, names are unique.
FIELD_RULES = ((400, "invalid_regex", "metadata.rules.*"), (400, "invalid", "metadata.rules.*"),
               (400, "unique", "metadata.rules.*"))
# A cron expression croniter accepts with five fields, and an IANA time zone name: no schema can say so.
SCHEDULE_RULES = ((400, "invalid", "cron"), (400, "invalid", "timezone"))
# A URL must be http(s) on a public address; events at least one; the authorization fields go together.
NOTIFICATION_WRITE = (
    (400, "invalid", "url"), (400, "url_not_allowed", "url"), (400, "invalid", "events"),
    (400, "required", "authorization_key"), (400, "invalid", "authorization_key"),
    (400, "required", "authorization_header"), (400, "invalid", "authorization_header"),
)
STEP_BOUND = (400, "max_value", "step")  # at most the number of steps (+1 for a new one)
# An adapter's config is an object checked against the adapter configuration document (docs/API.md, Adapters).
ADAPTER_WRITE = ((400, "unique", "name"), *((400, code, "config.*") for code in (
    "required", "unknown_field", "invalid", "min_value", "max_value", "min_length", "max_length")))
# llm_extractor: the adapter must be one of the org's, field (and column) names unique, line_items have columns.
LLM_FIELDS = ((400, "invalid", "metadata.adapter_id"), (400, "unique", "metadata.fields.*"),
              (400, "required", "metadata.fields.*"))
# A deployment's workflow must have API source and destination; api_name has a pattern and is unique.
DEPLOYMENT_WRITE = (NO_SUCH_OBJECT, (400, "unique", "api_name"), (400, "invalid", "api_name"),
                    (400, "invalid", "workflow"))
LEGITIMATE_REFUSALS = {
    ("workflow/", "GET"): PAGED,
    ("workflow/", "POST"): WORKFLOW_WRITE,
    ("workflow/{workflow_id}/", "GET"): (NO_SUCH_OBJECT,),
    ("workflow/{workflow_id}/", "PUT"): WORKFLOW_WRITE,
    ("workflow/{workflow_id}/", "PATCH"): WORKFLOW_WRITE,
    ("workflow/{workflow_id}/", "DELETE"): (NO_SUCH_OBJECT,),
    ("workflow/active/{workflow_id}/", "PUT"): (NO_SUCH_OBJECT,),
    ("workflow/{workflow_id}/can-update/", "GET"): (NO_SUCH_OBJECT,),
    ("workflow/{workflow_id}/clear-file-marker/", "GET"): (NO_SUCH_OBJECT,),
    ("workflow/{workflow_id}/clear-file-marker/", "POST"): (NO_SUCH_OBJECT,),
    # `entity` must fit `type` (src: file, api; dest: file, db, api): two parameters, one rule.
    ("workflow/schema/", "GET"): ((400, "invalid_choice", "entity"),),
    ("workflow/{workflow_id}/users/", "GET"): (NO_SUCH_OBJECT,),
    ("workflow/{workflow_id}/owners/", "POST"): (NO_SUCH_OBJECT, (400, "invalid", "user_id")),  # a member
    ("workflow/{workflow_id}/owners/{user_id}/", "DELETE"): (NO_SUCH_OBJECT,),  # not an owner (any more)
    ("workflow/{workflow_id}/execution/", "GET"): (NO_SUCH_OBJECT, PAGE_PAST_THE_LAST),
    ("workflow/execution/{execution_id}/", "GET"): (NO_SUCH_OBJECT,),
    ("workflow/execution/{execution_id}/files/", "GET"): (NO_SUCH_OBJECT, PAGE_PAST_THE_LAST),
    ("workflow/execution/{execution_id}/logs/", "GET"): (NO_SUCH_OBJECT, PAGE_PAST_THE_LAST),
    ("workflow/execution/{execution_id}/results/", "GET"): (NO_SUCH_OBJECT,),
    ("workflow/execution/{execution_id}/files/{file_execution_id}/result/", "GET"): (NO_SUCH_OBJECT,),
    ("workflow/execution/{execution_id}/retry/", "POST"): (
        NO_SUCH_OBJECT, (400, "nothing_to_retry", None), (409, "execution_busy", None),
        (409, "uploads_expired", None), (400, "workflow_inactive", None),
    ),
    ("workflow/execute/", "POST"): (
        NO_SUCH_OBJECT,
        (400, "workflow_inactive", None),  # the scene's workflows are inactive on purpose
        (400, "invalid_execution_id", "execution_id"),  # the execution is terminal or of another workflow
    ),
    ("workflow/{workflow_id}/file-histories/", "GET"): (NO_SUCH_OBJECT, PAGE_PAST_THE_LAST),
    ("workflow/{workflow_id}/file-histories/{history_id}/", "GET"): (NO_SUCH_OBJECT,),
    ("workflow/{workflow_id}/file-histories/{history_id}/", "DELETE"): (NO_SUCH_OBJECT,),
    ("workflow/{workflow_id}/file-histories/clear/", "POST"): (NO_SUCH_OBJECT,),
    ("workflow/{workflow_id}/endpoint/", "GET"): (NO_SUCH_OBJECT, PAGE_PAST_THE_LAST),
    ("workflow/endpoint/{endpoint_id}/", "GET"): (NO_SUCH_OBJECT,),
    ("workflow/endpoint/{endpoint_id}/", "PATCH"): (
        NO_SUCH_OBJECT,
        (400, "invalid_choice", "connection_type"),  # SOURCE takes no DATABASE (the endpoint type is stored)
        (400, "invalid", "connector_instance_id"),  # a connector of the org whose mode fits
        # The configuration must fit the stored endpoint type and the connection type.
        (400, "invalid", "configuration"), (400, "invalid", "configuration.*"),
        (400, "required", "configuration.*"), (400, "unknown_field", "configuration.*"),
        (400, "invalid_choice", "configuration.*"), (400, "min_value", "configuration.*"),
        (400, "max_value", "configuration.*"), (400, "min_length", "configuration.*"),
        (400, "max_length", "configuration.*"),
    ),
    ("workflow/{workflow_id}/schedules/", "GET"): (NO_SUCH_OBJECT, PAGE_PAST_THE_LAST),
    ("workflow/{workflow_id}/schedules/", "POST"): (NO_SUCH_OBJECT, *SCHEDULE_RULES),
    ("workflow/schedules/{schedule_id}/", "GET"): (NO_SUCH_OBJECT,),
    ("workflow/schedules/{schedule_id}/", "PATCH"): (NO_SUCH_OBJECT, *SCHEDULE_RULES),
    ("workflow/schedules/{schedule_id}/", "DELETE"): (NO_SUCH_OBJECT,),
    ("workflow/schedules/{schedule_id}/runs/", "GET"): (NO_SUCH_OBJECT, PAGE_PAST_THE_LAST),
    ("connector/", "GET"): PAGED,
    ("connector/", "POST"): CONNECTOR_WRITE,
    ("connector/types/", "GET"): PAGED,
    ("connector/{connector_id}/", "GET"): (NO_SUCH_OBJECT,),
    ("connector/{connector_id}/", "PATCH"): (NO_SUCH_OBJECT, *CONNECTOR_WRITE, *STORED_CONNECTOR_TYPE),
    ("connector/{connector_id}/", "DELETE"): (NO_SUCH_OBJECT,),
    ("tool/", "GET"): PAGED,
    ("tool_instance/", "GET"): (NO_SUCH_OBJECT, PAGE_PAST_THE_LAST),  # workflow_id names a workflow
    ("tool_instance/", "POST"): (NO_SUCH_OBJECT, STEP_BOUND, *FIELD_RULES, *LLM_FIELDS),
    ("tool_instance/{instance_id}/", "GET"): (NO_SUCH_OBJECT,),
    ("tool_instance/{instance_id}/", "PATCH"): (NO_SUCH_OBJECT, STEP_BOUND, *STORED_TOOL, *FIELD_RULES, *LLM_FIELDS),
    ("tool_instance/{instance_id}/", "DELETE"): (NO_SUCH_OBJECT,),
    ("member/", "GET"): PAGED,
    ("adapter/", "GET"): PAGED,
    ("usage/", "GET"): (NO_SUCH_OBJECT, (400, "invalid", "from")),  # a workflow not visible; from after to
    ("adapter/", "POST"): ADAPTER_WRITE,
    ("adapter/{adapter_id}/", "GET"): (NO_SUCH_OBJECT,),
    ("adapter/{adapter_id}/", "PATCH"): (NO_SUCH_OBJECT, *ADAPTER_WRITE),
    ("adapter/{adapter_id}/", "DELETE"): (NO_SUCH_OBJECT,),
    ("adapter/{adapter_id}/test/", "POST"): (NO_SUCH_OBJECT,),
    ("api-deployment/", "GET"): (NO_SUCH_OBJECT, PAGE_PAST_THE_LAST),
    ("api-deployment/", "POST"): DEPLOYMENT_WRITE,
    ("api/deployment/", "GET"): (NO_SUCH_OBJECT, PAGE_PAST_THE_LAST),
    ("api-deployment/{deployment_id}/", "GET"): (NO_SUCH_OBJECT,),
    ("api-deployment/{deployment_id}/", "PATCH"): DEPLOYMENT_WRITE,
    ("api-deployment/{deployment_id}/", "DELETE"): (NO_SUCH_OBJECT,),
    ("api-deployment/{deployment_id}/keys/", "GET"): (NO_SUCH_OBJECT,),
    ("api-deployment/{deployment_id}/keys/", "POST"): (NO_SUCH_OBJECT,),
    ("api-deployment/{deployment_id}/keys/{key_id}/", "PATCH"): (NO_SUCH_OBJECT,),
    ("api-deployment/{deployment_id}/keys/{key_id}/", "DELETE"): (NO_SUCH_OBJECT,),
    ("workflow/{workflow_id}/notifications/", "GET"): (NO_SUCH_OBJECT, PAGE_PAST_THE_LAST),
    ("workflow/{workflow_id}/notifications/", "POST"): (NO_SUCH_OBJECT, *NOTIFICATION_WRITE),
    ("workflow/notifications/{notification_id}/", "GET"): (NO_SUCH_OBJECT,),
    ("workflow/notifications/{notification_id}/", "PATCH"): (NO_SUCH_OBJECT, *NOTIFICATION_WRITE),
    ("workflow/notifications/{notification_id}/", "DELETE"): (NO_SUCH_OBJECT,),
    ("workflow/notifications/{notification_id}/deliveries/", "GET"): (NO_SUCH_OBJECT, PAGE_PAST_THE_LAST),
    ("workflow/notifications/{notification_id}/deliveries/{delivery_id}/redeliver/", "POST"): (
        NO_SUCH_OBJECT, (409, "delivery_in_progress", None)),
}


def refusal_entries(response) -> list[tuple[int, str, str | None]]:
    try:
        return [(response.status_code, e["code"], e["attr"]) for e in response.json()["errors"]]
    except (ValueError, KeyError, TypeError):
        return [(response.status_code, "", None)]


def is_listed(entry: tuple[int, str, str | None], listed) -> bool:
    status, code, attr = entry
    for want_status, want_code, want_attr in listed:
        if (want_status, want_code) != (status, code):
            continue
        if want_attr == attr or (want_attr and want_attr.endswith(".*") and attr
                                 and attr.startswith(want_attr[:-1])):
            return True
    return False


def accepts_valid_data(ctx, response, case):
    """schemathesis' positive_data_acceptance (2xx expected), passing the operation's listed refusals."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        listed = LEGITIMATE_REFUSALS.get((case.operation.path[len(PREFIX):], case.method.upper()), ())
        if all(is_listed(entry, listed) for entry in refusal_entries(response)):
            return None
        raise


# Not `negative_data_rejection`: the contract accepts some schema-violating bodies on purpose (names are
# trimmed before their maxLength applies; file-history clear ignores the other filters when `ids` is
# given). Negative cases still run, under the checks below.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, accepts_valid_data]
# UNSTRACT_FUZZ_EXAMPLES raises the bound for a longer hunt outside CI.
FUZZ_SETTINGS = settings(max_examples=int(os.environ.get("UNSTRACT_FUZZ_EXAMPLES", "20")), deadline=None,
                         derandomize=True, database=None, print_blob=True,
                         suppress_health_check=list(HealthCheck),
                         phases=[Phase.explicit, Phase.generate, Phase.shrink])
ID_KEYS = ("workflow_id", "execution_id", "history_id", "instance_id", "endpoint_id", "connector_id", "user_id",
           "notification_id", "delivery_id")


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
            "adapter_id": scene["adapter_id"], "user_id": scene["user_id"]}


def load_schema(app, *, allow_x00: bool):
    """The app's document; positive data acceptance expects a 2xx (LEGITIMATE_REFUSALS pass the rest)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.generation.update(allow_x00=allow_x00)
    schema.config.checks.positive_data_acceptance.expected_statuses = ["2xx"]
    return schema


def case_strategy(operations: dict, ids: dict, token: str):
    """Positive (without NUL) and negative cases, on real path ids (twice as likely) or on generated ones."""
    names = {param.name for param in operations[GenerationMode.POSITIVE].path_parameters}
    headers = {"Authorization": f"Bearer {token}"}
    real = {"org_id": "acme", **{name: ids[name] for name in names if name in ids}}
    strategies = [operation.as_strategy(mode, path_parameters=path, headers=headers)
                  for mode, operation in operations.items()
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
    operations = {GenerationMode.POSITIVE: load_schema(app, allow_x00=False)[path][method],
                  GenerationMode.NEGATIVE: load_schema(app, allow_x00=True)[path][method]}
    ids = real_ids(fuzz_scene)
    token = world.api("admin").token

    @FUZZ_SETTINGS
    @given(case=case_strategy(operations, ids, token), use_real=st.booleans())
    def fuzz(case, use_real):
        aim_body(case, ids, use_real)
        case.call_and_validate(checks=CHECKS)

    fuzz()



def test_every_operation_has_its_list_of_legitimate_refusals():
    assert {(PREFIX + rule, method) for rule, method in LEGITIMATE_REFUSALS} == set(OPERATIONS)
