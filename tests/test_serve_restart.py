"""The web server (the whole `unstract serve` tree) restarted while an execution runs: nothing is lost."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.engine.workers import SLOW_RULE
from tests.serving import Served, serve_env, unstract_command

pytestmark = pytest.mark.slow


def _json(served, path, key, body=None):
    status, raw = served.request(path, key=key, body=body)
    return status, json.loads(raw)


def _wait(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"condition not met within {timeout} s")


def test_restart_mid_execution_finishes_every_file_once(tmp_path):
    data_dir = tmp_path / "data"
    env = serve_env(data_dir, UNSTRACT_FILE_LEASE_SECONDS="3", UNSTRACT_REAP_INTERVAL_SECONDS="1")
    served = Served(env, workers=1)
    key = subprocess.run([*unstract_command(), "apikey", "create", "--org", "default", "--email",
                          "admin@example.com"], env=env, capture_output=True, text=True, check=True,
                         timeout=60).stdout.strip()
    base = "/api/v1/unstract/default/"
    workflow_id = _json(served, base + "workflow/?workflow_name=Demo%20workflow", key)[1]["results"][0]["id"]
    status, _ = _json(served, base + "tool_instance/", key, {"workflow_id": workflow_id, "tool_id": "field_extractor",
                                                            "metadata": {"rules": [SLOW_RULE]}})
    assert status == 201
    samples = data_dir / "storage" / "demo" / "samples"
    for n in range(6):
        (samples / f"slow-{n}.txt").write_text("a" * 24 + "!")
    status, run = _json(served, base + "workflow/execute/", key, {"workflow_id": workflow_id, "timeout": 0})
    assert status == 202
    files_url = f"{base}workflow/execution/{run['execution_id']}/files/"
    _wait(lambda: any(f["status"] == "COMPLETED" for f in _json(served, files_url, key)[1]["results"]), 90)
    assert served.stop() == 0

    again = Served(env, workers=1)
    try:
        execution_url = f"{base}workflow/execution/{run['execution_id']}/"
        execution = _wait(lambda: (e := _json(again, execution_url, key)[1])["status"] in
                          ("COMPLETED", "ERROR", "STOPPED") and e, 120)
        files = _json(again, files_url, key)[1]["results"]
    finally:
        assert again.stop() == 0
    assert execution["status"] == "COMPLETED" and execution["successful_files"] == execution["total_files"] == 9
    assert {f["status"] for f in files} == {"COMPLETED"}
    outputs = sorted(p.name for p in (data_dir / "storage" / "demo" / "output" / "samples").iterdir())
    assert outputs == sorted(f"{f['file_name']}.json" for f in files)
