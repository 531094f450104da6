"""API deployment fixtures: an API workflow of org acme, a deployment of it and a key."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.engine.harness import INVOICE_RULES
from tests.factories import add_tool, configure, make_workflow, organization
from tests.support import ApiClient

INVOICE_TXT = b"ACME Corp\nInvoice Number: INV-1001\nTotal: $1,250.50\n"


@pytest.fixture
def api_workflow(world):
    workflow = make_workflow(world.users["owner"], organization("acme"))
    configure(workflow, "SOURCE", "API")
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    return workflow


@pytest.fixture
def deployment(world, api_workflow, app):
    """A deployment `invoices` with one key; `.run` posts to its run route with that key."""
    owner = world.api("owner")
    created = owner.post("api-deployment/", json={"display_name": "Invoices", "api_name": "invoices",
                                                  "workflow": str(api_workflow.id)})
    assert created.status_code == 201, created.json
    key = owner.post(f"api-deployment/{created.json['id']}/keys/", json={"description": "ci"})
    assert key.status_code == 201, key.json
    runner = ApiClient(app.test_client(), "acme", key.json["key"])
    return SimpleNamespace(id=created.json["id"], key=key.json["key"], key_id=key.json["id"], owner=owner,
                           runner=runner, path="/deployment/api/acme/invoices/", body=created.json)
