"""Crashes and races with real forked `unstract worker` processes (docs/EXECUTION.md, Claims and leases; Recovery)."""

from __future__ import annotations

import os
import signal
import uuid

import pytest

from tests.engine.workers import file_executions, slow_folder_workflow, wait_until, workers
from unstract.extensions import db
from unstract.models import Execution

pytestmark = pytest.mark.slow


def _start(world, workflow_id: str) -> str:
    response = world.api("owner").post("workflow/execute/", json={"workflow_id": workflow_id, "timeout": 0})
    assert response.status_code == 202, response.json
    return uuid.UUID(response.json["execution_id"])


def _execution(execution_id):
    return db.session.get(Execution, execution_id, populate_existing=True)


def test_killed_worker_mid_file_is_recovered_and_each_file_has_one_result(world, base_env, storage_root, tmp_path):
    workflow_id = slow_folder_workflow(world, storage_root, files=6)
    with workers(base_env, tmp_path, count=2, UNSTRACT_FILE_LEASE_SECONDS=4) as processes:
        execution_id = _start(world, workflow_id)
        wait_until(lambda: sum(f.status == "EXECUTING" for f in file_executions(execution_id)) >= 2, timeout=60)
        os.killpg(processes[0].pid, signal.SIGKILL)  # mid-file: both workers hold a file now
        execution = wait_until(lambda: _execution(execution_id).status in ("COMPLETED", "ERROR")
                               and _execution(execution_id), timeout=90)
    files = file_executions(execution_id)
    assert execution.status == "COMPLETED" and execution.successful_files == 6
    assert {f.status for f in files} == {"COMPLETED"}
    assert max(f.attempts for f in files) >= 2  # the killed worker's file ran once more elsewhere
    outputs = sorted(p.name for p in (storage_root / "out" / "in").iterdir())
    assert outputs == [f"doc-{n:03d}.txt.json" for n in range(6)]


def test_two_executions_over_the_same_files_process_each_file_once(world, base_env, storage_root, tmp_path):
    workflow_id = slow_folder_workflow(world, storage_root, files=50, slow=False)
    with workers(base_env, tmp_path, count=2):
        first, second = _start(world, workflow_id), _start(world, workflow_id)
        wait_until(lambda: all(_execution(e).status in ("COMPLETED", "ERROR") for e in (first, second)),
                   timeout=120)
    selected = [f.file_path for e in (first, second) for f in file_executions(e)]
    assert sorted(selected) == sorted(f"in/doc-{n:03d}.txt" for n in range(50))
    assert _execution(first).total_files + _execution(second).total_files == 50
    assert len(list((storage_root / "out" / "in").iterdir())) == 50


def test_stop_during_a_long_execution_stops_within_one_file(world, base_env, storage_root, tmp_path):
    workflow_id = slow_folder_workflow(world, storage_root, files=8)
    with workers(base_env, tmp_path, count=1, UNSTRACT_FILE_LEASE_SECONDS=4):
        execution_id = _start(world, workflow_id)
        wait_until(lambda: any(f.status == "EXECUTING" for f in file_executions(execution_id)), timeout=60)
        response = world.api("owner").post("workflow/execute/", json={
            "workflow_id": workflow_id, "execution_id": execution_id, "execution_action": "STOP", "timeout": 10})
        assert response.status_code == 200, response.json
    assert response.json["execution_status"] == "STOPPED"
    statuses = [f.status for f in file_executions(execution_id)]
    assert statuses.count("STOPPED") >= 6 and "EXECUTING" not in statuses and "PENDING" not in statuses
