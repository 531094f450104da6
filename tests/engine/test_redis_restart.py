"""Redis stopped for 5 s mid-execution and started again (issue 5): nothing lost or duplicated."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.engine.workers import file_executions, slow_folder_workflow, wait_until, workers
from tests.support import ApiClient, start_embedded_redis
from unstract.extensions import db
from unstract.models import Execution
from unstract.services import accounts

pytestmark = pytest.mark.slow


def test_workers_survive_a_redis_restart_and_the_run_finishes(world, base_env, make_app, storage_root, tmp_path):
    redis_dir = tmp_path / "own-redis"
    process, url = start_embedded_redis(redis_dir)
    api = ApiClient(make_app(REDIS_URL=url).test_client(), "acme",
                    accounts.create_api_key("acme", "owner@acme.test", "full_access"))
    workflow_id = slow_folder_workflow(world, storage_root, files=8)
    try:
        with workers({**base_env, "REDIS_URL": url}, tmp_path, count=2, UNSTRACT_FILE_LEASE_SECONDS=4):
            response = api.post("workflow/execute/", json={"workflow_id": workflow_id, "timeout": 0})
            execution_id = uuid.UUID(response.json["execution_id"])
            wait_until(lambda: sum(f.status == "COMPLETED" for f in file_executions(execution_id)) >= 2, timeout=60)
            process.terminate()
            process.wait(timeout=10)
            down = api.post("workflow/execute/", json={"workflow_id": workflow_id, "timeout": 0})
            assert down.status_code == 503 and down.json["errors"][0]["code"] == "queue_unavailable"
            health = api.client.get("/healthz")
            assert health.status_code == 503 and health.json["redis"] == "error" and health.json["database"] == "ok"
            time.sleep(5)
            process, _ = start_embedded_redis(redis_dir)  # empty: the queued jobs are gone
            execution = wait_until(lambda: _terminal(execution_id), timeout=120)
    finally:
        process.terminate()
    assert execution.status == "COMPLETED" and execution.successful_files == 8
    files = file_executions(execution_id)
    assert {f.status for f in files} == {"COMPLETED"}
    assert sorted(p.name for p in (storage_root / "out" / "in").iterdir()) == \
        sorted(f"{f.file_name}.json" for f in files)


def _terminal(execution_id):
    execution = db.session.get(Execution, execution_id, populate_existing=True)
    return execution if execution.status in ("COMPLETED", "ERROR", "STOPPED") else None
