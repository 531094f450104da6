"""The dashboard reads input through the API's schemas, so a bad value gets the API's own message."""

from __future__ import annotations

import html

import pytest

from tests.factories import make_execution, make_workflow
from tests.web.web_client import PageUser
from tests.web.web_client import html as text

BAD_INTEGERS = ["abc", "1.5", "true", "9" * 30 + "x"]


@pytest.fixture
def workflow(world):
    return make_workflow(world.users["owner"], "acme", workflow_name="Invoices")


@pytest.fixture
def owner(app, world):
    return PageUser(app, "owner@acme.test")


def api_detail(response, attr: str) -> str:
    """The detail the API gives for `attr` in its 400 envelope."""
    assert response.status_code == 400, response.json
    return next(error["detail"] for error in response.json["errors"] if error["attr"] == attr)


def shown(response, detail: str) -> bool:
    return response.status_code == 400 and html.escape(detail) in text(response)


@pytest.mark.parametrize("value", [*BAD_INTEGERS, "0", "2147483648"])
def test_the_edit_form_shows_the_apis_message_for_a_bad_retry_limit(world, owner, workflow, value):
    api = world.api("owner").patch(f"workflow/{workflow.id}/", json={"max_file_execution_count": value})
    detail = api_detail(api, "max_file_execution_count")
    page = owner.post(f"/workflows/{workflow.id}/edit", {"workflow_name": "Invoices",
                                                         "max_file_execution_count": value})
    assert shown(page, detail)


@pytest.mark.parametrize("value", [*BAD_INTEGERS, "-1"])
def test_the_history_filters_show_the_apis_message_for_a_bad_count(world, owner, workflow, value):
    api = world.api("owner").get(f"workflow/{workflow.id}/file-histories/?execution_count_min={value}")
    detail = api_detail(api, "execution_count_min")
    assert shown(owner.get(f"/workflows/{workflow.id}/history?execution_count_min={value}"), detail)


@pytest.mark.parametrize("value", [*BAD_INTEGERS, "-1"])
def test_the_log_panel_shows_the_apis_message_for_a_bad_cursor(world, owner, workflow, value):
    execution = make_execution(workflow, status="EXECUTING", phase="PROCESSING")
    api = world.api("owner").get(f"workflow/execution/{execution.id}/logs/?after={value}")
    detail = api_detail(api, "after")
    assert shown(owner.get(f"/executions/{execution.id}/logs?after={value}", fragment=True), detail)


def test_a_page_number_the_api_refuses_shows_the_first_page(world, owner, workflow):
    assert world.api("owner").get("workflow/?page=abc").status_code == 400
    assert owner.get("/?page=abc").status_code == 200
