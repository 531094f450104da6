"""GET /metrics (Prometheus text), its token, and the values moving with real runs (in this process)."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.engine.harness import INVOICE_RULES, invoice_folder, run_jobs
from tests.factories import add_tool, configure, make_workflow, organization

FAMILIES = ("unstract_executions_total", "unstract_files_total", "unstract_file_duration_seconds",
            "unstract_queue_jobs", "unstract_queue_oldest_job_age_seconds", "unstract_llm_tokens_total",
            "unstract_llm_cost_usd_total", "unstract_llm_requests_total", "unstract_webhook_deliveries_total",
            "unstract_http_requests_total", "unstract_http_request_duration_seconds")


def scrape(client, **headers) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of one scrape."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.data
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_every_metric_family_is_exposed(client):
    text = client.get("/metrics").get_data(as_text=True)
    for family in FAMILIES:
        assert re.search(rf"^# TYPE {family} ", text, re.M), family
    assert "_created" not in text
    assert re.search(r'^unstract_executions_total\{status="ERROR"\} ', text, re.M)  # present from the start


def test_queue_jobs_has_a_sample_for_every_state_zeros_included(client):
    samples = scrape(client)
    for state in ("queued", "started", "scheduled", "deferred", "failed", "finished"):
        assert ("unstract_queue_jobs", (("queue", "unstract"), ("state", state))) in samples
    assert value(samples, "unstract_queue_jobs", queue="unstract", state="queued") == 0
    assert value(samples, "unstract_queue_oldest_job_age_seconds", queue="unstract") == 0


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "s3cret", "Basic s3cret", "Bearer "])
def test_a_token_protects_the_endpoint(make_app, authorization):
    client = make_app(UNSTRACT_METRICS_TOKEN="s3cret").test_client()
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert b"unstract_" not in response.data
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_values_move_with_a_real_run(app, client, world, storage_root):
    acme = organization("acme")
    workflow = make_workflow(world.users["owner"], acme)
    connector = invoice_folder(storage_root, acme.id, 3)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "FILESYSTEM", connector, outputFolder="out")
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    before = scrape(client)
    response = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0})
    assert response.status_code == 202
    queued = scrape(client)
    assert value(queued, "unstract_queue_jobs", queue="unstract", state="queued") == 1
    assert value(queued, "unstract_queue_oldest_job_age_seconds", queue="unstract") >= 0
    run_jobs(app)
    after = scrape(client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("unstract_executions_total", status="COMPLETED") == 1
    assert moved("unstract_files_total", status="COMPLETED") == 3
    assert moved("unstract_file_duration_seconds_count", tool="field_extractor") == 3
    assert moved("unstract_http_requests_total", method="POST", status="202",
                 endpoint="/api/v1/unstract/<org_id>/workflow/execute/") == 1
    assert moved("unstract_http_request_duration_seconds_count", method="POST",
                 endpoint="/api/v1/unstract/<org_id>/workflow/execute/") == 1
    assert value(after, "unstract_queue_jobs", queue="unstract", state="queued") == 0


def test_an_unmatched_path_is_counted_under_one_label(client):
    before = scrape(client)
    client.get("/no/such/page/1")
    client.get("/no/such/page/2")
    after = scrape(client)
    labels = {"method": "GET", "status": "404", "endpoint": "unmatched"}
    assert value(after, "unstract_http_requests_total", **labels) - value(before, "unstract_http_requests_total",
                                                                          **labels) == 2


def test_files_ended_together_are_counted_once_committed_and_not_after_a_rollback(client, world):
    from tests.factories import make_execution, make_file_execution
    from unstract.extensions import db
    from unstract.services import execution_state

    execution = make_execution(make_workflow(world.users["owner"], "acme"), status="EXECUTING")
    for _ in range(2):
        make_file_execution(execution)
    before = scrape(client)
    execution_state.end_open_files(execution.id, "STOPPED")
    db.session.rollback()
    assert value(scrape(client), "unstract_files_total", status="STOPPED") == value(
        before, "unstract_files_total", status="STOPPED")
    execution_state.end_open_files(execution.id, "STOPPED")
    db.session.commit()
    after = scrape(client)
    assert value(after, "unstract_files_total", status="STOPPED") - value(
        before, "unstract_files_total", status="STOPPED") == 2
