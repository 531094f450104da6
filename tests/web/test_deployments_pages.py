"""The API deployments page: create a deployment of an API workflow, see its endpoint with curl and
unstract-client examples, create a key (shown once), deactivate, and recent runs linking to executions."""

from __future__ import annotations

import io
import re

from tests.deployments.conftest import INVOICE_TXT
from tests.engine.harness import INVOICE_RULES
from tests.factories import add_tool, configure, make_workflow, organization
from unstract.extensions import db
from unstract.models import ApiDeployment, DeploymentKey


def _api_workflow(world):
    workflow = make_workflow(world.users["owner"], organization("acme"), workflow_name="Invoices API")
    configure(workflow, "SOURCE", "API")
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    return workflow


def _create(client, workflow, api_name="invoices"):
    return client.post("/deployments", data={"display_name": "Invoices", "api_name": api_name,
                                             "workflow": str(workflow.id), "csrf_token": client.csrf})


def test_create_shows_endpoint_examples_and_a_key_once(owner_client, world):
    workflow = _api_workflow(world)
    created = _create(owner_client, workflow)
    assert created.status_code == 303
    page = owner_client.get(created.headers["Location"]).get_data(as_text=True)
    assert "http://localhost/deployment/api/acme/invoices/" in page
    assert "curl -X POST http://localhost/deployment/api/acme/invoices/" in page
    assert "APIDeploymentsClient(api_url=&#34;http://localhost/deployment/api/acme/invoices/&#34;" in page \
        or 'APIDeploymentsClient(api_url="http://localhost/deployment/api/acme/invoices/"' in page
    deployment = db.session.scalar(db.select(ApiDeployment))
    with_key = owner_client.post(f"/deployments/{deployment.id}/keys",
                                 data={"description": "ci", "csrf_token": owner_client.csrf})
    assert with_key.status_code == 201
    plaintext = re.search(r'data-testid="new-deployment-key">(ud_[^<]+)<', with_key.get_data(as_text=True)).group(1)
    assert db.session.scalar(db.select(DeploymentKey)).key_hash != plaintext
    assert plaintext not in owner_client.get(f"/deployments/{deployment.id}").get_data(as_text=True)
    run = owner_client.post("/deployment/api/acme/invoices/", headers={"Authorization": f"Bearer {plaintext}"},
                            data={"files": [(io.BytesIO(INVOICE_TXT), "a.txt")], "timeout": "0"},
                            content_type="multipart/form-data")
    execution_id = run.json["message"]["execution_id"]
    assert f'href="/executions/{execution_id}"' in owner_client.get(f"/deployments/{deployment.id}").get_data(
        as_text=True)
    listing = owner_client.get("/deployments").get_data(as_text=True)
    assert "/deployment/api/acme/invoices/" in listing and "Invoices API" in listing


def test_deactivate_and_refused_workflow(owner_client, world):
    workflow = _api_workflow(world)
    _create(owner_client, workflow)
    deployment = db.session.scalar(db.select(ApiDeployment))
    owner_client.post(f"/deployments/{deployment.id}/active", data={"csrf_token": owner_client.csrf})
    db.session.refresh(deployment)
    assert deployment.is_active is False
    plain = make_workflow(world.users["owner"], organization("acme"), workflow_name="Folder")
    refused = _create(owner_client, plain, api_name="folder")
    assert refused.status_code == 400
    assert "source and destination" in refused.get_data(as_text=True)


