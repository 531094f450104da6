"""API deployments through the in-process test client: management, the run and status routes, errors in
their documented order, and the rate limit (docs/API.md, API deployments)."""

from __future__ import annotations

import io
import json

from tests.deployments.conftest import INVOICE_TXT
from tests.engine.harness import INVOICE_RULES, run_jobs
from tests.factories import add_tool, configure, make_workflow, organization
from tests.llm.factories import make_adapter
from unstract.extensions import db
from unstract.models import DeploymentKey, DeploymentRun, Execution


def _files(count: int = 1) -> list:
    return [(io.BytesIO(INVOICE_TXT + str(n).encode()), f"inv{n}.txt") for n in range(count)]


def _run(deployment, token: str | None = "default", **fields):
    data = {"files": _files(), **fields}
    headers = {}
    token = deployment.key if token == "default" else token
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return deployment.runner.client.post(deployment.path, data=data, headers=headers,
                                         content_type="multipart/form-data")


def test_representation_has_endpoint_and_run_statistics(deployment):
    body = deployment.body
    assert body["api_endpoint"] == "/deployment/api/acme/invoices/"
    assert body["run_count"] == 0 and body["last_run_time"] is None and body["last_5_run_statuses"] == []
    assert body["is_active"] is True and body["workflow_name"] and body["owner_emails"] == ["owner@acme.test"]


def test_key_is_stored_as_a_digest(deployment):
    stored = db.session.scalar(db.select(DeploymentKey))
    assert stored.key_hash != deployment.key and deployment.key not in stored.key_hash
    listed = deployment.owner.get(f"api-deployment/{deployment.id}/keys/").json
    assert "key" not in listed["results"][0]


def test_api_name_unique_per_org(deployment, api_workflow):
    again = deployment.owner.post("api-deployment/", json={"display_name": "X", "api_name": "invoices",
                                                           "workflow": str(api_workflow.id)})
    assert again.status_code == 400
    assert again.json["errors"][0]["code"] == "unique" and again.json["errors"][0]["attr"] == "api_name"


def test_workflow_without_api_endpoints_is_invalid(world):
    workflow = make_workflow(world.users["owner"], organization("acme"))
    configure(workflow, "SOURCE", "API")
    answer = world.api("owner").post("api-deployment/", json={"display_name": "X", "api_name": "x",
                                                              "workflow": str(workflow.id)})
    assert answer.status_code == 400
    assert answer.json["errors"][0] == {"code": "invalid", "attr": "workflow",
                                        "detail": answer.json["errors"][0]["detail"]}


def test_bad_api_name_is_invalid(world, api_workflow):
    answer = world.api("owner").post("api-deployment/", json={"display_name": "X", "api_name": "no spaces",
                                                              "workflow": str(api_workflow.id)})
    assert answer.status_code == 400 and answer.json["errors"][0]["attr"] == "api_name"


def test_viewer_may_not_create(world, api_workflow):
    answer = world.api("viewer").post("api-deployment/", json={"display_name": "X", "api_name": "x",
                                                               "workflow": str(api_workflow.id)})
    assert answer.status_code == 404  # a workflow the requester cannot see, as everywhere


def test_async_run_then_repeatable_status_reads(app, deployment):
    answer = _run(deployment, timeout="0", include_metadata="True", tags="a, b", custom_data='{"ref": 7}')
    assert answer.status_code == 200, answer.json
    message = answer.json["message"]
    assert message["execution_status"] == "PENDING" and message["result"] is None
    assert message["status_api"] == f"/deployment/api/acme/invoices/?execution_id={message['execution_id']}"
    run = db.session.get(DeploymentRun, __import__("uuid").UUID(message["execution_id"]))
    assert run.tags == ["a", "b"] and run.custom_data == {"ref": 7}
    run_jobs(app)
    headers = {"Authorization": f"Bearer {deployment.key}"}
    for _ in range(2):
        status = deployment.runner.client.get(message["status_api"] + "&include_metadata=true", headers=headers)
        assert status.status_code == 200
        assert status.json["status"] == "COMPLETED"
        item = status.json["message"][0]
        assert item["status"] == "Success" and item["file"] == "inv0.txt"
        assert item["result"] == {"invoice_number": "INV-1001", "total": 1250.5}
        assert item["metadata"]["custom_data"] == {"ref": 7}
        assert item["metadata"]["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
                                             "llm_calls": 0, "cost_usd": None}  # no LLM in this workflow
        assert set(item) >= {"file", "file_execution_id", "status", "result", "error", "metadata", "extracted_text"}
    listed = deployment.owner.get(f"api-deployment/{deployment.id}/").json
    assert listed["run_count"] == 1 and listed["last_5_run_statuses"][0]["status"] == "COMPLETED"


def test_errors_in_documented_order(deployment, world):
    assert _run(deployment, token=None).status_code == 401
    assert _run(deployment, token=None).json["errors"][0]["code"] == "not_authenticated"
    client = deployment.runner.client
    for header in ("Bearer x", "Token x", "Bearer", f"Basic {deployment.key}"):  # the deployment comes first
        unknown = client.post("/deployment/api/acme/nope/", headers={"Authorization": header})
        assert unknown.status_code == 404 and unknown.json["errors"][0]["code"] == "not_found", header
        unknown_org = client.get("/deployment/api/nobody/invoices/?execution_id=x", headers={"Authorization": header})
        assert unknown_org.status_code == 404, header
    for header in ("Token x", f"Token {deployment.key}", "Bearer", f"Bearer {deployment.key} extra"):
        malformed = client.post(deployment.path, headers={"Authorization": header})
        assert malformed.status_code == 401 and malformed.json["errors"][0]["code"] == "authentication_failed"
    wrong = _run(deployment, token="ud_wrong")
    assert wrong.status_code == 401 and wrong.json["errors"][0]["code"] == "authentication_failed"
    org_key = world.api("owner").token
    assert _run(deployment, token=org_key).status_code == 401  # an org API key is not a deployment key
    other = client.get("/deployment/api/acme/invoices/?execution_id=00000000-0000-0000-0000-000000000001",
                       headers={"Authorization": f"Bearer {deployment.key}"})
    assert other.status_code == 404


def test_deployment_key_refused_on_org_api(deployment):
    answer = deployment.runner.get("workflow/")
    assert answer.status_code == 401 and answer.json["errors"][0]["code"] == "authentication_failed"


def test_inactive_deployment_and_revoked_key(deployment):
    deployment.owner.patch(f"api-deployment/{deployment.id}/keys/{deployment.key_id}/", json={"is_active": False})
    assert _run(deployment, timeout="0").status_code == 401
    deployment.owner.patch(f"api-deployment/{deployment.id}/", json={"is_active": False})
    assert _run(deployment, timeout="0").status_code == 404


def test_bad_input(deployment, app):
    cases = [
        ({"files": []}, "files"),
        ({"custom_data": "{not json"}, "custom_data"),
        ({"presigned_urls": "https://example.com/a.pdf"}, "presigned_urls"),
        ({"timeout": "soon"}, "timeout"),
        ({"include_metadata": "maybe"}, "include_metadata"),
    ]
    for fields, attr in cases:
        answer = _run(deployment, **{"timeout": "0", **fields})
        assert answer.status_code == 400, (fields, answer.json)
        assert answer.json["errors"][0]["attr"] == attr
    assert _run(deployment, timeout="0", presigned_urls="x").json["errors"][0]["code"] == "not_supported"
    too_many = _run(deployment, timeout="0", files=_files(app.config["UNSTRACT_SETTINGS"].max_upload_files + 1))
    assert too_many.status_code == 400 and too_many.json["errors"][0]["code"] == "max_files"
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)) == 0


def test_oversize_body_is_413(deployment, make_app):
    small = make_app(MAX_CONTENT_LENGTH="1000")
    answer = small.test_client().post(deployment.path, data={"files": [(io.BytesIO(b"x" * 5000), "a.txt")]},
                                      headers={"Authorization": f"Bearer {deployment.key}"},
                                      content_type="multipart/form-data")
    assert answer.status_code == 413 and answer.json["errors"][0]["code"]


def test_rate_limit_per_key(deployment, make_app):
    limited = make_app(UNSTRACT_DEPLOYMENT_RATE_LIMIT="2/minute").test_client()
    headers = {"Authorization": f"Bearer {deployment.key}"}
    statuses = [limited.get(deployment.path + "?execution_id=00000000-0000-0000-0000-000000000001",
                            headers=headers).status_code for _ in range(2)]
    assert statuses == [404, 404]  # an unknown execution is refused before the limit counts
    answers = [limited.post(deployment.path, data={"files": _files(), "timeout": "0"}, headers=headers,
                            content_type="multipart/form-data") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json["errors"][0]["code"] == "throttled"
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60


def test_whoami_and_platform_list(deployment, world):
    org_api = world.api("owner", "read")
    me = org_api.client.get("/api/v1/unstract/whoami/", headers={"Authorization": f"Bearer {org_api.token}"})
    assert me.status_code == 200
    without_slash = org_api.client.get("/api/v1/unstract/whoami",
                                       headers={"Authorization": f"Bearer {org_api.token}"})
    assert without_slash.status_code == 200 and without_slash.json == me.json
    assert org_api.client.get("/api/v1/unstract/whoami").status_code == 401
    assert me.json["organization_id"] == "acme" and me.json["permission"] == "read"
    assert me.json["organization_name"] == "Acme" and me.json["key_name"]
    assert org_api.client.get("/api/v1/unstract/whoami/").status_code == 401
    listed = org_api.get("api/deployment/?api_name=invoices").json
    assert listed["count"] == 1 and listed["results"][0]["api_name"] == "invoices"
    assert json.loads(json.dumps(listed))["results"][0]["workflow"]


def test_deleting_the_workflow_deletes_its_deployments_and_keys(deployment, api_workflow, app):
    _run(deployment, timeout="0")
    assert deployment.owner.delete(f"workflow/{api_workflow.id}/").status_code == 204
    for model in (DeploymentKey, DeploymentRun, Execution):
        assert db.session.scalar(db.select(db.func.count()).select_from(model)) == 0
    assert deployment.owner.get(f"api-deployment/{deployment.id}/").status_code == 404


def test_deleting_a_deployment_keeps_its_executions(deployment):
    _run(deployment, timeout="0")
    assert deployment.owner.delete(f"api-deployment/{deployment.id}/").status_code == 204
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(DeploymentKey)) == 0


def test_metadata_usage_is_the_files_llm_usage(app, world, llm_server):
    adapter = make_adapter("acme", llm_server.base_url, input_cost_per_million=1, output_cost_per_million=2)
    workflow = make_workflow(world.users["owner"], organization("acme"), workflow_name="LLM invoices")
    configure(workflow, "SOURCE", "API")
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "llm_extractor", adapter_id=str(adapter.id),
             fields=[{"name": "invoice_number", "prompt": "The invoice number"}])
    owner = world.api("owner")
    created = owner.post("api-deployment/", json={"display_name": "LLM", "api_name": "llm",
                                                  "workflow": str(workflow.id)})
    key = owner.post(f"api-deployment/{created.json['id']}/keys/", json={}).json["key"]
    headers = {"Authorization": f"Bearer {key}"}
    answer = app.test_client().post("/deployment/api/acme/llm/", headers=headers, content_type="multipart/form-data",
                                    data={"files": _files(), "timeout": "0", "include_metadata": "true"})
    assert answer.status_code == 200, answer.json
    run_jobs(app)
    status = app.test_client().get(answer.json["message"]["status_api"] + "&include_metadata=true", headers=headers)
    [item] = status.json["message"]
    assert item["status"] == "Success" and item["result"]["output"] == {"invoice_number": "INV-1001"}
    usage = item["metadata"]["usage"]
    assert usage["llm_calls"] == 1 and usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["cost_usd"] == round((usage["prompt_tokens"] * 1 + usage["completion_tokens"] * 2) / 1e6, 8)
    files = owner.get(f"workflow/execution/{answer.json['message']['execution_id']}/files/").json["results"]
    assert usage == files[0]["usage"]


def test_search_matches_percent_underscore_and_backslash_literally(deployment):
    def count(path: str, search: str) -> int:
        return deployment.owner.get(path, query_string={"search": search}).json["count"]

    for path in ("api-deployment/", "api/deployment/"):
        assert count(path, "INVO") == 1 and count(path, "nvoic") == 1  # case-insensitive substring
        assert [count(path, search) for search in ("%", "_", "inv%", "\\")] == [0, 0, 0, 0], path
    assert deployment.owner.patch(f"api-deployment/{deployment.id}/",
                                  json={"description": "100%_sure \\ yes"}).status_code == 200
    assert deployment.owner.get("api-deployment/", query_string={"search": "0%_SURE \\ Y"}).json["count"] == 1


def test_key_list_is_paginated_like_every_list(deployment):
    base = f"api-deployment/{deployment.id}/keys/"
    second = deployment.owner.post(base, json={"description": "second"}).json
    page = deployment.owner.get(base, query_string={"page_size": "1"}).json
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 2 and page["previous"] is None and "page=2" in page["next"]
    assert [key["id"] for key in page["results"]] == [second["id"]]  # newest first
    last = deployment.owner.get(base, query_string={"page_size": "1", "page": "2"}).json
    assert [key["id"] for key in last["results"]] == [deployment.key_id] and last["next"] is None
    beyond = deployment.owner.get(base, query_string={"page": "2"})
    assert beyond.status_code == 404 and beyond.json["errors"][0]["code"] == "invalid_page"


def test_a_body_that_is_not_multipart_is_415(deployment):
    headers = {"Authorization": f"Bearer {deployment.key}"}
    client = deployment.runner.client
    for answer, content_type in ((client.post(deployment.path, headers=headers, json={"timeout": 0}),
                                  "application/json"),
                                 (client.post(deployment.path, headers=headers, data="files=a",
                                              content_type="application/x-www-form-urlencoded"),
                                  "application/x-www-form-urlencoded")):
        assert answer.status_code == 415, answer.json
        assert answer.json == {"type": "client_error", "errors": [{
            "code": "unsupported_media_type", "detail": f'Unsupported media type "{content_type}" in request.',
            "attr": None}]}
    empty = client.post(deployment.path, headers=headers)  # no body at all: the files are missing
    assert empty.status_code == 400 and empty.json["errors"][0]["attr"] == "files"
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)) == 0


def test_extracted_text_is_the_text_the_steps_read_whatever_the_last_step(app, deployment, api_workflow):
    """The fixture's workflow is one field_extractor step: its output has no text, the text it read is kept."""
    answer = _run(deployment, timeout="0")
    run_jobs(app)
    headers = {"Authorization": f"Bearer {deployment.key}"}
    status_api = answer.json["message"]["status_api"]
    item = deployment.runner.client.get(status_api + "&include_extracted_text=true", headers=headers).json
    assert item["message"][0]["result"] == {"invoice_number": "INV-1001", "total": 1250.5}
    assert item["message"][0]["extracted_text"].startswith(INVOICE_TXT.decode().strip())
    without = deployment.runner.client.get(status_api, headers=headers).json
    assert without["message"][0]["extracted_text"] is None


def test_extracted_text_of_the_first_text_step_is_kept_within_the_text_limit(make_app, world, deployment):
    """A text_extractor first, then the field extractor: the text is the text extractor's, cut at
    UNSTRACT_MAX_TEXT_CHARS like the text itself."""
    workflow = make_workflow(world.users["owner"], organization("acme"))
    configure(workflow, "SOURCE", "API")
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "text_extractor")
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    created = deployment.owner.post("api-deployment/", json={"display_name": "Texts", "api_name": "texts",
                                                             "workflow": str(workflow.id)}).json
    key = deployment.owner.post(f"api-deployment/{created['id']}/keys/", json={}).json["key"]
    small = make_app(UNSTRACT_MAX_TEXT_CHARS="12").test_client()
    headers = {"Authorization": f"Bearer {key}"}
    answer = small.post(created["api_endpoint"], data={"files": _files(), "timeout": "0"}, headers=headers,
                        content_type="multipart/form-data")
    assert answer.status_code == 200, answer.json
    run_jobs(small.application)
    status = small.get(answer.json["message"]["status_api"] + "&include_extracted_text=true", headers=headers)
    assert status.json["status"] == "COMPLETED"
    assert status.json["message"][0]["extracted_text"] == INVOICE_TXT.decode()[:12]
