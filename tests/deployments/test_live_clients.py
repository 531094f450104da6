"""The official unstract-client (APIDeploymentsClient, PlatformKeyClient) against a real `unstract serve`
(web server, RQ worker, embedded Redis, SQLite), and the per-key rate limit shared by two gunicorn
worker processes through that Redis (docs/API.md, API deployments)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from unstract.api_deployments.client import APIDeploymentsClient, PlatformKeyClient

from tests.deployments.conftest import INVOICE_TXT
from tests.engine.harness import INVOICE_RULES
from tests.serving import Served, serve_env, unstract_command
from tests.support import free_port

pytestmark = pytest.mark.slow
NO_RETRY = {"max_retries": 0}


def _call(base: str, method: str, path: str, key: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {key}", **({"Content-Type": "application/json"} if data else {})}
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """A served org `default` with an API workflow deployed as `invoices`: (served, org key, deployment
    key, data dir, input file)."""
    data_dir = tmp_path_factory.mktemp("deploy") / "data"
    env = serve_env(data_dir)
    served = Served(env)
    try:
        org_key = subprocess.run([*unstract_command(), "apikey", "create", "--org", "default", "--email",
                                  "admin@example.com"], env=env, capture_output=True, text=True, check=True,
                                 timeout=60).stdout.strip()
        base, org = served.base_url, "/api/v1/unstract/default/"
        status, workflow = _call(base, "POST", org + "workflow/", org_key, {"workflow_name": "Invoices API"})
        assert status == 201, workflow
        endpoints = _call(base, "GET", f"{org}workflow/{workflow['id']}/endpoint/", org_key)[1]["results"]
        for endpoint in endpoints:
            assert _call(base, "PATCH", f"{org}workflow/endpoint/{endpoint['id']}/", org_key,
                         {"connection_type": "API"})[0] == 200
        assert _call(base, "POST", org + "tool_instance/", org_key, {
            "workflow_id": workflow["id"], "tool_id": "field_extractor",
            "metadata": {"rules": INVOICE_RULES}})[0] == 201
        status, deployment = _call(base, "POST", org + "api-deployment/", org_key, {
            "display_name": "Invoices", "api_name": "invoices", "workflow": workflow["id"]})
        assert status == 201, deployment
        key = _call(base, "POST", f"{org}api-deployment/{deployment['id']}/keys/", org_key, {})[1]["key"]
        document = data_dir.parent / "invoice.txt"
        document.write_bytes(INVOICE_TXT)
        yield served, org_key, key, data_dir, document
    finally:
        assert served.stop() == 0


def test_sync_structure_file_with_metadata_and_custom_data(service):
    served, _, key, _, document = service
    with APIDeploymentsClient(served.base_url + "/deployment/api/default/invoices/", key, api_timeout=60,
                              **NO_RETRY) as client:
        answer = client.structure_file([str(document)], include_metadata=True, custom_data={"ref": [1, "a"]},
                                       tags="ci,sync", llm_profile_id="ignored")
    assert answer["status_code"] == 200 and answer["execution_status"] == "COMPLETED", answer
    assert answer["pending"] is False and not answer["error"]
    item = answer["extraction_result"][0]
    assert item["status"] == "Success" and item["file"] == "invoice.txt"
    assert item["result"] == {"invoice_number": "INV-1001", "total": 1250.5}
    assert item["metadata"]["custom_data"] == {"ref": [1, "a"]}


def test_async_structure_file_then_polling(service):
    served, _, key, _, document = service
    with APIDeploymentsClient(served.base_url + "/deployment/api/default/invoices/", key, api_timeout=0,
                              **NO_RETRY) as client:
        answer = client.structure_file([str(document)])
        assert answer["status_code"] == 200 and answer["pending"] is True, answer
        endpoint = answer["status_check_api_endpoint"]
        assert endpoint.startswith("/deployment/api/default/invoices/?execution_id=")
        deadline = time.monotonic() + 60
        while (status := client.check_execution_status(endpoint))["pending"] and time.monotonic() < deadline:
            time.sleep(0.2)
        again = client.check_execution_status(endpoint, include_metadata=True)
    assert status["execution_status"] == "COMPLETED" and status["status_code"] == 200
    assert status["extraction_result"][0]["result"]["invoice_number"] == "INV-1001"
    assert again["extraction_result"][0]["metadata"]["source_name"] == "invoice.txt"  # reads repeat


def test_wrong_key_is_reported_by_the_client(service):
    served, org_key, _, _, document = service
    with APIDeploymentsClient(served.base_url + "/deployment/api/default/invoices/", org_key, **NO_RETRY) as client:
        answer = client.structure_file([str(document)])
    assert answer["status_code"] == 401 and "Invalid authentication credentials" in answer["error"]


def test_platform_key_client_whoami_and_list(service):
    served, org_key, _, _, _ = service
    with PlatformKeyClient(served.base_url, org_key, **NO_RETRY) as client:
        me = client.whoami()
        listed = client.list_deployments(me["organization_id"], api_name="invoices")
    assert me["organization_id"] == "default" and me["permission"] == "read_write"
    item = listed["results"][0]
    assert listed["count"] == 1 and item["api_endpoint"] == "/deployment/api/default/invoices/"
    assert item["run_count"] >= 0 and item["workflow_name"] == "Invoices API" and item["is_owner"] is True


def test_rate_limit_is_shared_by_two_gunicorn_workers(service):
    served, org_key, _, data_dir, document = service
    org = "/api/v1/unstract/default/"
    listed = _call(served.base_url, "GET", org + "api-deployment/?api_name=invoices", org_key)[1]
    deployment_id = listed["results"][0]["id"]
    key = _call(served.base_url, "POST", f"{org}api-deployment/{deployment_id}/keys/", org_key, {})[1]["key"]
    port = free_port()
    env = {**serve_env(data_dir), "REDIS_URL": f"unix://{data_dir / 'redis.sock'}",
           "UNSTRACT_DEPLOYMENT_RATE_LIMIT": "4/hour", "PYTHONPATH": str(Path(__file__).parents[2])}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen([str(gunicorn), "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                               env=env, cwd=Path(__file__).parents[2], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(base)
        with APIDeploymentsClient(served.base_url + "/deployment/api/default/invoices/", key, api_timeout=0,
                                  **NO_RETRY) as client:
            endpoint = client.structure_file([str(document)])["status_check_api_endpoint"]
        codes: list[int] = []

        def poll() -> None:
            request = urllib.request.Request(base + endpoint, headers={"Authorization": f"Bearer {key}",
                                                                       "Connection": "close"})
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    codes.append(response.status)
            except urllib.error.HTTPError as error:
                assert error.code != 429 or int(error.headers["Retry-After"]) >= 1
                codes.append(error.code)

        threads = [threading.Thread(target=poll) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    finally:
        process.terminate()
        process.wait(30)
    # the execute above counted once in the served process; the ten polls share the other three calls
    assert sorted(codes) == [200] * 3 + [429] * 7


def _wait_up(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail("gunicorn did not start")
