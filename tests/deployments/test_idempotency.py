"""Idempotency-Key on POST workflow/execute/ and on the deployment run route (docs/API.md, Idempotent
execute): replays answer with the first execution, another request with the key is 422, and concurrent
calls create one execution."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

from tests.deployments.conftest import INVOICE_TXT
from unstract.extensions import db
from unstract.models import Execution, IdempotencyClaim


def _execute(api, workflow, key: str | None, content: bytes = INVOICE_TXT):
    headers = {"Idempotency-Key": key} if key else {}
    workflow_id = workflow if isinstance(workflow, str) else str(workflow.id)
    return api.post("workflow/execute/", data={"workflow_id": workflow_id, "timeout": "0",
                                               "files": [(io.BytesIO(content), "inv.txt")]},
                    content_type="multipart/form-data", headers=headers)


def _executions() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Execution))


def test_replay_returns_the_first_execution_without_storing_the_upload(world, api_workflow, app):
    api = world.api("owner")
    first = _execute(api, api_workflow, "order-42")
    uploads = app.config["UNSTRACT_SETTINGS"].data_dir / "uploads"
    stored = sorted(p.name for p in uploads.iterdir())
    again = _execute(api, api_workflow, "order-42")
    assert first.status_code == again.status_code == 202
    assert again.json["execution_id"] == first.json["execution_id"]
    assert _executions() == 1
    assert sorted(p.name for p in uploads.iterdir()) == stored


def test_same_key_with_another_request_is_422(world, api_workflow):
    api = world.api("owner")
    _execute(api, api_workflow, "order-42")
    other = _execute(api, api_workflow, "order-42", content=INVOICE_TXT + b"changed")
    assert other.status_code == 422
    assert other.json["errors"][0]["code"] == "idempotency_key_reused"
    assert _executions() == 1


def test_without_a_key_every_call_runs(world, api_workflow):
    api = world.api("owner")
    _execute(api, api_workflow, None)
    _execute(api, api_workflow, None, content=INVOICE_TXT + b"2")
    assert _executions() == 2


def test_a_claim_older_than_a_day_is_replaced(world, api_workflow):
    api = world.api("owner")
    first = _execute(api, api_workflow, "old")
    claim = db.session.scalar(db.select(IdempotencyClaim))
    claim.created_at = claim.created_at - timedelta(hours=25)
    db.session.commit()
    again = _execute(api, api_workflow, "old", content=INVOICE_TXT + b"new")
    assert again.status_code == 202 and again.json["execution_id"] != first.json["execution_id"]


def test_a_failed_first_call_releases_the_key(world, api_workflow):
    api = world.api("owner")
    refused = api.post("workflow/execute/", data={"workflow_id": str(api_workflow.id), "timeout": "0"},
                       content_type="multipart/form-data", headers={"Idempotency-Key": "k"})
    assert refused.status_code == 400  # no files
    assert _execute(api, api_workflow, "k").status_code == 202


def test_bad_key_is_400(world, api_workflow):
    answer = _execute(world.api("owner"), api_workflow, "x" * 256)
    assert answer.status_code == 400 and answer.json["errors"][0]["attr"] == "Idempotency-Key"


def test_concurrent_calls_create_one_execution(world, api_workflow):
    api, workflow_id = world.api("owner"), str(api_workflow.id)
    answers: list = []
    threads = [threading.Thread(target=lambda: answers.append(_execute(api, workflow_id, "race")))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert {a.status_code for a in answers} == {202}
    assert len({a.json["execution_id"] for a in answers}) == 1
    assert _executions() == 1


def test_deployment_route_replays(deployment):
    def call():
        return deployment.runner.client.post(
            deployment.path, data={"files": [(io.BytesIO(INVOICE_TXT), "a.txt")], "timeout": "0"},
            headers={"Authorization": f"Bearer {deployment.key}", "Idempotency-Key": "dep-1"},
            content_type="multipart/form-data")
    first, again = call(), call()
    assert first.status_code == again.status_code == 200
    assert first.json["message"]["execution_id"] == again.json["message"]["execution_id"]
    assert _executions() == 1
