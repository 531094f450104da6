"""Integer query parameters read ASCII digits only (docs/API.md, Integers in text): every one, the same rule."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.factories import make_execution, make_schedule
from unstract.extensions import db
from unstract.models import ApiDeployment, Notification

# Every integer query parameter the API documents (test_every_integer_parameter_is_listed keeps this whole).
INTEGER_PARAMETERS = [
    (path, name)
    for path in ("workflow/", "workflow/{workflow_id}/execution/", "workflow/execution/{execution_id}/files/",
                 "workflow/execution/{execution_id}/logs/", "workflow/{workflow_id}/file-histories/",
                 "adapter/", "connector/", "connector/types/", "workflow/{workflow_id}/endpoint/", "tool/",
                 "tool_instance/", "member/", "api-deployment/", "api/deployment/",
                 "api-deployment/{deployment_id}/keys/", "workflow/{workflow_id}/schedules/",
                 "workflow/schedules/{schedule_id}/runs/",
                 "workflow/{workflow_id}/notifications/", "workflow/notifications/{notification_id}/deliveries/")
    for name in ("page", "page_size")
] + [
    ("workflow/execution/{execution_id}/logs/", "after"),
    ("workflow/{workflow_id}/file-histories/", "execution_count_min"),
    ("workflow/{workflow_id}/file-histories/", "execution_count_max"),
]
# Text Python's int() would read, and which is not ASCII digits: spaces, signs, other scripts' digits.
NOT_ASCII_DIGITS = [" 1", "1 ", "\t1", "+1", "١", "１", "²", "1_000", "1.0", "0x1", ""]


def url_of(path: str, workflow, execution, name: str, text: str) -> str:
    """The list's URL with `name=text` (tool instances are listed by workflow)."""
    query = {"workflow_id": str(workflow.id)} if path == "tool_instance/" else {}
    schedule_id = make_schedule(workflow).id if "{schedule_id}" in path else None
    notification_id = notification_of(workflow) if "{notification_id}" in path else None
    deployment_id = deployment_of(workflow) if "{deployment_id}" in path else None
    url = path.format(workflow_id=workflow.id, execution_id=execution.id, schedule_id=schedule_id,
                      notification_id=notification_id, deployment_id=deployment_id)
    return f"{url}?{urlencode({**query, name: text})}"


def notification_of(workflow) -> str:
    """The workflow's notification, added on first use (its deliveries list has paging too)."""
    found = db.session.scalar(db.select(Notification.id).where(Notification.workflow_id == workflow.id))
    if found is None:
        notification = Notification(workflow_id=workflow.id, url="https://93.184.215.14/hook", secret="sealed")
        db.session.add(notification)
        db.session.commit()
        found = notification.id
    return str(found)


def deployment_of(workflow) -> str:
    """A deployment of the workflow, added on first use (its key list has paging too)."""
    found = db.session.scalar(db.select(ApiDeployment.id).where(ApiDeployment.workflow_id == workflow.id))
    if found is None:
        deployment = ApiDeployment(organization_id=workflow.organization_id, workflow_id=workflow.id,
                                   display_name="Keys", api_name="keys", created_by=workflow.created_by)
        db.session.add(deployment)
        db.session.commit()
        found = deployment.id
    return str(found)


@pytest.fixture
def execution(workflow):
    return make_execution(workflow)


@pytest.mark.parametrize("path, name", INTEGER_PARAMETERS)
def test_integer_parameters_take_ascii_digits_only(api, workflow, execution, path, name):
    accepted = api.get(url_of(path, workflow, execution, name, "1"))
    assert accepted.status_code == 200, accepted.json
    for text in NOT_ASCII_DIGITS:
        refused = api.get(url_of(path, workflow, execution, name, text))
        assert refused.status_code == 400, (text, refused.json)
        assert refused.json["errors"] == [{"code": "invalid", "detail": "A valid integer is required.",
                                           "attr": name}], text


def test_every_integer_parameter_is_listed(api):
    documented = set()
    for path, operations in api.get("/api/v1/openapi.json").json["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter["in"] == "query" and parameter["schema"].get("type") == "integer":
                    documented.add((path.removeprefix("/api/v1/unstract/{org_id}/"), parameter["name"]))
    assert documented == set(INTEGER_PARAMETERS)


def test_a_negative_number_is_out_of_range_not_malformed(api):
    refused = api.get("workflow/?page=-1")
    assert refused.json["errors"][0]["code"] == "min_value"


def test_thousands_of_digits_are_invalid_not_a_server_error(api):
    refused = api.get("workflow/?page=" + "9" * 5000)
    assert (refused.status_code, refused.json["errors"][0]["code"]) == (400, "invalid")
