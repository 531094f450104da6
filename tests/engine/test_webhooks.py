"""Webhook deliveries end to end in this process: the delivery job against a real HTTP receiver on loopback
(tests/webhook_receiver.py), with the signature checked by an implementation of the test's own."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from rq.registry import ScheduledJobRegistry

from tests.engine.harness import run_jobs
from tests.factories import add_tool, configure, make_connector, make_execution, make_workflow
from tests.llm.factories import make_adapter
from tests.support import ApiClient
from tests.webhook_receiver import start_receiver, stop_receiver
from unstract.extensions import db, rq
from unstract.models import Delivery
from unstract.models.base import utcnow
from unstract.services import accounts, deliveries
from unstract.services import execution_state as state
from unstract.worker.context import JobContext
from unstract.worker.reaper import reap_once
from unstract.worker.webhooks import deliver

NO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "llm_calls": 0, "cost_usd": None}
HOOK_ENV = {"UNSTRACT_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true", "UNSTRACT_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
            "UNSTRACT_WEBHOOK_TIMEOUT_SECONDS": "2"}


@pytest.fixture
def receiver():
    server = start_receiver()
    yield server
    stop_receiver(server)


@pytest.fixture
def hook_app(make_app):
    """The app as a deployment that lets webhooks reach the loopback receiver, with a tiny retry base."""
    return make_app(**HOOK_ENV)


@pytest.fixture
def owner_api(world, hook_app):
    return ApiClient(hook_app.test_client(), "acme", accounts.create_api_key("acme", "owner@acme.test", "full_access"))


@pytest.fixture
def workflow(world):
    return make_workflow(world.users["owner"], "acme", workflow_name="Invoices")


def job_context(app) -> JobContext:
    return JobContext(app, app.config["UNSTRACT_SETTINGS"], app.config["SECRET_KEY"])


def add_notification(api, workflow, url, **fields) -> dict:
    response = api.post(f"workflow/{workflow.id}/notifications/", json={"url": url, **fields})
    assert response.status_code == 201, response.json
    return response.json


def end_execution(workflow, status="COMPLETED", **fields):
    """An execution of the workflow made terminal through the one place that does it."""
    execution = make_execution(workflow, status="EXECUTING", total_files=3, successful_files=2, failed_files=1,
                               **fields)
    assert state.transition_execution(execution.id, status, when=("EXECUTING",), execution_time=1.5)
    db.session.commit()
    return execution


def only_delivery() -> Delivery:
    db.session.expire_all()
    rows = db.session.scalars(db.select(Delivery)).all()
    assert len(rows) == 1, rows
    return rows[0]


def run_due(app, delivery_id, rounds=40):
    """Run the delivery job until the delivery is no longer pending (waiting out each retry delay)."""
    for _ in range(rounds):
        deliver(delivery_id, job_context(app))
        db.session.expire_all()
        delivery = db.session.get(Delivery, delivery_id)
        if delivery.status != "pending":
            return delivery
        time.sleep(max(0.0, (delivery.next_attempt_at - utcnow()).total_seconds()))
    raise AssertionError("still pending")


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """What a receiver does (docs/API.md shows it): recompute the HMAC over "<timestamp>.<body>"."""
    expected = hmac.new(secret.encode(), f"{headers['X-Unstract-Timestamp']}.".encode() + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", headers["X-Unstract-Signature"])


def test_a_terminal_execution_is_delivered_signed_with_the_documented_body(hook_app, owner_api, workflow, receiver):
    created = add_notification(owner_api, workflow, receiver.url, authorization_type="bearer",
                               authorization_key="receiver-token")
    execution = end_execution(workflow, "COMPLETED")
    delivery = only_delivery()
    assert (delivery.event, delivery.status, delivery.execution_id) == ("execution.completed", "pending", execution.id)
    assert rq.queue().job_ids == [deliveries.job_id(delivery.id, delivery.token)]  # queued after the commit
    assert run_due(hook_app, delivery.id).status == "succeeded"
    [request] = receiver.received
    assert verify(created["secret"], request.headers, request.body)
    assert not verify("another-secret", request.headers, request.body)
    assert request.headers["X-Unstract-Event"] == "execution.completed"
    assert request.headers["X-Unstract-Delivery"] == str(delivery.id)
    assert abs(int(request.headers["X-Unstract-Timestamp"]) - time.time()) < 300
    assert request.headers["Authorization"] == "Bearer receiver-token"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert body["event"] == "execution.completed" and body["delivery_id"] == str(delivery.id)
    assert body["occurred_at"].endswith("Z")
    assert body["execution"] == {
        "id": str(execution.id), "workflow_id": str(workflow.id), "workflow_name": "Invoices",
        "status": "COMPLETED", "total_files": 3, "successful_files": 2, "failed_files": 1, "error_message": None,
        "execution_time": 1.5, "usage": NO_USAGE}
    log = owner_api.get(f"workflow/notifications/{created['id']}/deliveries/").json
    assert log["count"] == 1
    item = log["results"][0]
    assert {k: item[k] for k in ("id", "event", "execution_id", "status", "attempts", "last_status_code",
                                 "last_error", "next_attempt_at")} == {
        "id": str(delivery.id), "event": "execution.completed", "execution_id": str(execution.id),
        "status": "succeeded", "attempts": 1, "last_status_code": 200, "last_error": None, "next_attempt_at": None}
    assert item["last_response_body"] == f"answer 200 to {delivery.id}"


def test_the_body_carries_the_executions_llm_usage(hook_app, owner_api, workflow, receiver):
    add_notification(owner_api, workflow, receiver.url)
    execution = end_execution(workflow, prompt_tokens=1200, completion_tokens=345, llm_calls=3, cost_usd=0.00123)
    assert run_due(hook_app, only_delivery().id).status == "succeeded"
    [request] = receiver.received
    usage = json.loads(request.body)["execution"]["usage"]
    assert usage == {"prompt_tokens": 1200, "completion_tokens": 345, "total_tokens": 1545, "llm_calls": 3,
                     "cost_usd": 0.00123}
    assert usage == owner_api.get(f"workflow/execution/{execution.id}/").json["usage"]


def test_a_run_with_llm_calls_reports_their_usage(hook_app, owner_api, world, receiver, llm_server):
    """A real run: an llm_extractor step against the LLM test server, then its delivery."""
    root = Path(hook_app.config["UNSTRACT_SETTINGS"].local_storage_roots[0])
    (root / "in").mkdir()
    (root / "in" / "a.txt").write_text("Invoice number: INV-7\n")
    adapter = make_adapter("acme", llm_server.base_url, input_cost_per_million=1, output_cost_per_million=2)
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="LLM run")
    configure(workflow, "SOURCE", "FILESYSTEM", make_connector(workflow.organization_id, "Local", "local_storage",
                                                               {"path": str(root)}), folders=["in"])
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "llm_extractor", adapter_id=str(adapter.id), fields=[{"name": "invoice_number", "prompt": "N"}])
    add_notification(owner_api, workflow, receiver.url)
    started = owner_api.post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0})
    run_jobs(hook_app)
    delivery = only_delivery()
    if delivery.status == "pending":
        run_due(hook_app, delivery.id)
    [request] = receiver.received
    usage = json.loads(request.body)["execution"]["usage"]
    assert usage["llm_calls"] == 1 and usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["cost_usd"] == round((usage["prompt_tokens"] + 2 * usage["completion_tokens"]) / 1e6, 8)
    assert usage == owner_api.get(f"workflow/execution/{started.json['execution_id']}/").json["usage"]


def test_slack_format_and_a_custom_header(hook_app, owner_api, workflow, receiver):
    add_notification(owner_api, workflow, receiver.url, format="slack", authorization_type="custom_header",
                     authorization_header="X-Receiver-Key", authorization_key="k-42", secret="shared-secret")
    end_execution(workflow, "ERROR", error_message="All 3 file(s) failed.")
    run_due(hook_app, only_delivery().id)
    [request] = receiver.received
    assert verify("shared-secret", request.headers, request.body)
    assert request.headers["X-Receiver-Key"] == "k-42" and "Authorization" not in request.headers
    text = json.loads(request.body)["text"]
    assert set(json.loads(request.body)) == {"text"}
    assert "Invoices" in text and "failed" in text and "All 3 file(s) failed." in text
    assert request.headers["X-Unstract-Event"] == "execution.failed"


def test_only_active_notifications_that_want_the_event_get_a_delivery(owner_api, workflow, receiver):
    add_notification(owner_api, workflow, receiver.url, events=["execution.failed"])
    add_notification(owner_api, workflow, receiver.url, is_active=False)
    end_execution(workflow, "COMPLETED")
    assert db.session.scalars(db.select(Delivery)).all() == []
    end_execution(workflow, "STOPPED")
    assert db.session.scalars(db.select(Delivery)).all() == []
    end_execution(workflow, "ERROR")
    assert only_delivery().event == "execution.failed"


def test_the_delivery_row_belongs_to_the_terminal_transition_transaction(owner_api, workflow, receiver):
    add_notification(owner_api, workflow, receiver.url)
    execution = make_execution(workflow, status="EXECUTING")
    assert state.transition_execution(execution.id, "COMPLETED", when=("EXECUTING",))
    db.session.rollback()
    assert db.session.scalars(db.select(Delivery)).all() == [] and rq.queue().job_ids == []
    assert not state.transition_execution(uuid.uuid4(), "COMPLETED")  # nothing moved, nothing written
    db.session.commit()
    assert db.session.scalars(db.select(Delivery)).all() == []


def test_failures_are_retried_with_backoff_until_delivered(hook_app, owner_api, workflow, receiver):
    receiver.plan = [500, 503, "redirect"]
    add_notification(owner_api, workflow, receiver.url, max_retries=5)
    end_execution(workflow)
    delivery_id = only_delivery().id
    deliver(delivery_id, job_context(hook_app))
    first = only_delivery()
    assert (first.status, first.attempts, first.last_status_code, first.last_error) == ("pending", 1, 500, "HTTP 500")
    delay = (first.next_attempt_at - first.modified_at).total_seconds()
    assert 0.05 * 0.85 <= delay <= 0.05 * 1.15
    scheduled = ScheduledJobRegistry(queue=rq.queue()).get_job_ids()
    assert scheduled == [deliveries.job_id(delivery_id, first.token)]
    final = run_due(hook_app, delivery_id)
    assert (final.status, final.attempts, final.last_status_code, final.last_error) == ("succeeded", 4, 200, None)
    assert receiver.delivery_ids() == [str(delivery_id)] * 4


def test_the_retry_delay_doubles_with_jitter_and_stops_at_an_hour():
    for attempt, nominal in ((1, 10), (2, 20), (3, 40), (6, 320)):
        for _ in range(50):
            assert nominal * 0.9 <= deliveries.retry_delay(attempt, 10) <= nominal * 1.1
    assert deliveries.retry_delay(30, 10) <= 3600 and deliveries.retry_delay(10_000, 10) <= 3600
    assert len({deliveries.retry_delay(3, 10) for _ in range(20)}) > 1


def test_a_delivery_fails_after_max_retries_more_attempts(hook_app, owner_api, workflow, receiver):
    receiver.plan = [500] * 10
    add_notification(owner_api, workflow, receiver.url, max_retries=2)
    end_execution(workflow)
    final = run_due(hook_app, only_delivery().id)
    assert (final.status, final.attempts, final.last_status_code, final.next_attempt_at) == ("failed", 3, 500, None)
    assert len(receiver.received) == 3


def test_a_huge_answer_is_read_only_as_far_as_its_first_bytes(hook_app, owner_api, workflow, receiver):
    receiver.plan = ["huge"]
    add_notification(owner_api, workflow, receiver.url)
    end_execution(workflow)
    final = run_due(hook_app, only_delivery().id)
    assert final.status == "succeeded" and final.last_response_body == "x" * 1024


def test_a_private_target_is_refused_again_at_delivery(hook_app, make_app, owner_api, workflow, receiver):
    add_notification(owner_api, workflow, receiver.url, max_retries=0)  # saved while private targets were allowed
    end_execution(workflow)
    strict = make_app()  # the setting is off again at delivery time
    final = run_due(strict, only_delivery().id)
    assert final.status == "failed" and final.last_status_code is None
    assert "not allowed" in final.last_error and receiver.received == []


def test_an_attempt_is_claimed_once(owner_api, workflow, receiver):
    add_notification(owner_api, workflow, receiver.url)
    end_execution(workflow)
    delivery_id = only_delivery().id
    first = deliveries.claim(delivery_id, 60)
    assert first is not None and first.attempt == 1
    assert deliveries.claim(delivery_id, 60) is None  # a second job for it finds it held
    db.session.execute(db.update(Delivery).values(lease_expires_at=None, next_attempt_at=utcnow() + timedelta(hours=1)))
    db.session.commit()
    assert deliveries.claim(delivery_id, 60) is None  # not due yet
    db.session.execute(db.update(Delivery).values(lease_expires_at=utcnow() + timedelta(seconds=60),
                                                  next_attempt_at=utcnow()))
    db.session.commit()
    stale = deliveries.Claim(delivery_id, "not-the-claim", 1)
    assert deliveries.record(stale, deliveries.Outcome(status_code=200), 5, 0.05) is None
    assert deliveries.record(first, deliveries.Outcome(status_code=200), 5, 0.05) == "succeeded"


def test_redeliver_queues_it_again_with_a_fresh_budget(hook_app, owner_api, workflow, receiver):
    created = add_notification(owner_api, workflow, receiver.url, max_retries=0)
    receiver.plan = [500]
    end_execution(workflow)
    delivery_id = only_delivery().id
    assert run_due(hook_app, delivery_id).status == "failed"
    base = f"workflow/notifications/{created['id']}/deliveries/"
    response = owner_api.post(f"{base}{delivery_id}/redeliver/")
    assert response.status_code == 202, response.json
    assert (response.json["status"], response.json["attempts"]) == ("pending", 0)
    token = only_delivery().token
    assert deliveries.job_id(delivery_id, token) in rq.queue().job_ids
    assert run_due(hook_app, delivery_id).status == "succeeded"
    assert receiver.delivery_ids() == [str(delivery_id)] * 2
    assert owner_api.post(f"{base}{uuid.uuid4()}/redeliver/").status_code == 404


def test_redeliver_needs_owner_rights(world, hook_app, owner_api, workflow, receiver):
    created = add_notification(owner_api, workflow, receiver.url)
    end_execution(workflow)
    path = f"workflow/notifications/{created['id']}/deliveries/{only_delivery().id}/redeliver/"
    viewer = ApiClient(hook_app.test_client(), "acme", accounts.create_api_key("acme", "viewer@acme.test"))
    from tests.factories import add_membership

    add_membership(workflow, world.users["viewer"])
    assert viewer.post(path).status_code == 403
    assert viewer.get(f"workflow/notifications/{created['id']}/deliveries/").json["count"] == 1


def test_redeliver_while_an_attempt_is_in_flight_is_409(owner_api, workflow, receiver):
    created = add_notification(owner_api, workflow, receiver.url)
    end_execution(workflow)
    delivery_id = only_delivery().id
    assert deliveries.claim(delivery_id, 60) is not None
    response = owner_api.post(f"workflow/notifications/{created['id']}/deliveries/{delivery_id}/redeliver/")
    assert response.status_code == 409 and response.json["errors"][0]["code"] == "delivery_in_progress"


def test_a_deleted_workflow_takes_its_pending_deliveries_along(hook_app, owner_api, workflow, receiver):
    add_notification(owner_api, workflow, receiver.url)
    end_execution(workflow)
    delivery_id = only_delivery().id
    assert owner_api.delete(f"workflow/{workflow.id}/").status_code == 204
    db.session.expire_all()
    assert db.session.get(Delivery, delivery_id) is None
    deliver(delivery_id, job_context(hook_app))  # the job still queued for it finds nothing to do
    assert receiver.received == []


def test_the_sweep_queues_a_due_delivery_whose_job_was_lost(make_app, owner_api, workflow, receiver):
    add_notification(owner_api, workflow, receiver.url)
    end_execution(workflow)
    delivery = only_delivery()
    lost_token = delivery.token
    rq.connection().flushdb()  # Redis lost its jobs
    db.session.execute(db.update(Delivery).values(next_attempt_at=utcnow() - timedelta(seconds=600)))
    db.session.commit()
    assert reap_once().requeued == 1
    token = only_delivery().token
    assert token != lost_token and rq.queue().job_ids == [deliveries.job_id(delivery.id, token)]
    assert reap_once().requeued == 0  # queued now: not queued twice


def test_the_sweep_leaves_alone_a_delivery_claimed_after_it_looked(owner_api, workflow, receiver):
    """A job dequeued (no longer waiting in Redis) claims the delivery between the sweep's read and its
    write: the sweep must not re-token it, or the attempt's outcome could not be recorded and it would be
    sent again."""
    add_notification(owner_api, workflow, receiver.url)
    end_execution(workflow)
    db.session.execute(db.update(Delivery).values(next_attempt_at=utcnow() - timedelta(seconds=600)))
    db.session.commit()
    rows = deliveries.orphaned(5)
    assert len(rows) == 1
    taken = deliveries.claim(rows[0][0], 60)
    assert deliveries.requeue(rows) == 0
    assert deliveries.record(taken, deliveries.Outcome(status_code=200), 5, 0.05) == "succeeded"
