"""X-Request-ID on every response, carried into the worker's jobs; JSON log lines (UNSTRACT_LOG_FORMAT=json)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from rq.job import Job

from tests.engine.harness import INVOICE_RULES, invoice_folder
from tests.factories import add_tool, configure, make_workflow, organization
from unstract import logcontext
from unstract.config import ConfigError, read_settings
from unstract.extensions import rq
from unstract.services import queueing

HEX32 = r"^[0-9a-f]{32}$"


@pytest.mark.parametrize("path", ["/api/v1/unstract/acme/workflow/", "/login", "/no/such/page", "/api/v1/openapi.json"])
def test_the_callers_request_id_is_echoed(client, world, path):
    response = client.get(path, headers={"X-Request-ID": "abc-123_!~"})
    assert response.headers["X-Request-ID"] == "abc-123_!~"


def test_a_request_without_an_id_gets_a_generated_one(client, world):
    first = client.get("/login").headers["X-Request-ID"]
    second = client.get("/api/v1/unstract/acme/workflow/").headers["X-Request-ID"]
    assert len(first) == len(second) == 32 and first != second
    assert all(c in "0123456789abcdef" for c in first + second)


@pytest.mark.parametrize("bad", ["", " ", "a b", "x" * 201, "caf\u00e9", "tab\there", "\x7f"])
def test_an_unacceptable_request_id_is_replaced(client, world, bad):
    response = client.get("/login", headers={"X-Request-ID": bad.encode("latin-1", "replace").decode("latin-1")})
    echoed = response.headers["X-Request-ID"]
    assert echoed != bad and len(echoed) == 32


def test_the_longest_acceptable_request_id_is_kept(client, world):
    assert client.get("/login", headers={"X-Request-ID": "r" * 200}).headers["X-Request-ID"] == "r" * 200


def test_an_error_response_carries_the_request_id(world):
    api = world.api("owner")
    response = api.post("workflow/execute/", json={"workflow_id": "nope"}, headers={"X-Request-ID": "bad-input-1"})
    assert response.status_code == 400 and response.headers["X-Request-ID"] == "bad-input-1"


def test_a_queued_job_carries_the_request_id_of_the_execute_call(world, storage_root):
    workflow = invoice_workflow(world, storage_root)
    response = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0},
                                       headers={"X-Request-ID": "run-42"})
    assert response.status_code == 202
    job = Job.fetch(queueing.listing_job_id(response.json["execution_id"]), connection=rq.connection())
    assert job.meta == {"request_id": "run-42"}


def test_a_job_carries_the_ids_bound_where_it_is_queued():
    assert queueing.job_meta() == {}
    with logcontext.bound(request_id="r-1"):
        assert queueing.job_meta() == {"request_id": "r-1"}
        with logcontext.bound(execution_id="e-1", file_execution_id="f-1"):
            assert queueing.job_meta() == {"request_id": "r-1", "execution_id": "e-1"}
    assert queueing.job_meta() == {}


def test_log_format_is_text_or_json():
    assert read_settings({}).log_format == "text"
    assert read_settings({"UNSTRACT_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ConfigError, match="UNSTRACT_LOG_FORMAT"):
        read_settings({"UNSTRACT_LOG_FORMAT": "xml"})


def test_json_logs_of_a_web_request_carry_its_request_id(make_app, world):
    app = make_app(UNSTRACT_LOG_FORMAT="json")
    stream = io.StringIO()
    try:
        [handler] = [h for h in logging.getLogger().handlers if isinstance(h.formatter, logcontext.JsonFormatter)]
        handler.setStream(stream)
        app.test_client().get("/login", headers={"X-Request-ID": "web-7"})
        logging.getLogger("unstract.test").warning("outside any request")
    finally:
        logcontext.configure_logging("text")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert {"logger": "unstract.http", "message": "GET /login 200", "request_id": "web-7"}.items() <= lines[0].items()
    assert lines[-1]["request_id"] is None and lines[-1]["message"] == "outside any request"
    assert all(set(logcontext.IDS) <= set(line) and line["level"] for line in lines)


def invoice_workflow(world, storage_root):
    acme = organization("acme")
    connector = invoice_folder(storage_root, acme.id, 2)
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "FILESYSTEM", connector, outputFolder="out")
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    return workflow


@pytest.mark.slow
def test_a_worker_logs_json_lines_with_the_execution_and_request_ids(base_env, world, storage_root):
    workflow = invoice_workflow(world, storage_root)
    response = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0},
                                       headers={"X-Request-ID": "trace-me-1"})
    execution_id = response.json["execution_id"]
    env = {**os.environ, **base_env, "UNSTRACT_LOG_FORMAT": "json"}
    done = subprocess.run([str(Path(sys.executable).parent / "unstract"), "worker", "--burst"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    ours = [line for line in lines if line["request_id"] == "trace-me-1"]
    assert {line["execution_id"] for line in ours} == {execution_id}
    assert any(line["message"] == "listing started" for line in ours)
    files = [line for line in ours if line["file_execution_id"] and line["message"].startswith("file ")]
    assert len(files) == 2 and all(line["message"].endswith("COMPLETED") for line in files)


def test_the_worker_metrics_server_carries_the_request_id_and_no_store(make_app):
    from unstract.metrics_http import serve_worker_metrics

    server = serve_worker_metrics(make_app(UNSTRACT_METRICS_TOKEN="w-token"), "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_port}"

    def answer(path: str, **headers) -> tuple[int, dict]:
        request = urllib.request.Request(base + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers)

    try:
        scraped = answer("/metrics", **{"Authorization": "Bearer w-token", "X-Request-ID": "scrape-1"})
        refused = answer("/metrics", **{"X-Request-ID": "a b"})
        missing = answer("/nope")
    finally:
        server.shutdown()
        server.server_close()
    assert scraped[0] == 200 and scraped[1]["X-Request-ID"] == "scrape-1"
    assert refused[0] == 401 and re.match(HEX32, refused[1]["X-Request-ID"])
    assert missing[0] == 404 and re.match(HEX32, missing[1]["X-Request-ID"])
    assert {status: headers["Cache-Control"] for status, headers in (scraped, refused, missing)} == {
        200: "no-store", 401: "no-store", 404: "no-store"}
