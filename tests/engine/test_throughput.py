"""Files side by side inside a worker and adapters' max_concurrency across workers (docs/EXECUTION.md,
Throughput), with real `unstract worker` processes, Redis and the LLM test server (tests/llm_server.py),
whose `peak_in_flight` counts the chat requests it answered at the same time."""

from __future__ import annotations

import os
import signal
import sqlite3
import uuid

import pytest

from tests.engine.workers import file_executions, wait_until, workers
from tests.factories import add_tool, configure, make_connector, make_workflow
from tests.llm.factories import make_adapter
from unstract.extensions import db, rq
from unstract.models import Execution
from unstract.services.adapter_slots import slots_in_use

pytestmark = pytest.mark.slow

FIELDS = [{"name": "invoice_number", "prompt": "The invoice number", "type": "text", "required": True}]


def llm_workflow(world, acme, storage_root, adapter, files: int, seconds: float, destination: str = "FILESYSTEM"):
    """`files` invoices whose LLM call takes `seconds` each, through text_extractor + llm_extractor."""
    (storage_root / "in").mkdir()
    for n in range(files):
        (storage_root / "in" / f"inv-{n:03d}.txt").write_text(f"[[llm:sleep={seconds}]]\nInvoice number: INV-{n}\n")
    source = make_connector(acme.id, "Local", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", source, folders=["in"])
    if destination == "DATABASE":
        target = make_connector(acme.id, "Out", "sqlite", {"path": str(storage_root / "out.db")})
        configure(workflow, "DESTINATION", "DATABASE", target, table="invoices")
    else:
        configure(workflow, "DESTINATION", "FILESYSTEM", source, outputFolder="out")
    add_tool(workflow, "text_extractor")
    add_tool(workflow, "llm_extractor", adapter_id=str(adapter.id), fields=FIELDS)
    return str(workflow.id)


def start(world, workflow_id: str) -> uuid.UUID:
    response = world.api("owner").post("workflow/execute/", json={"workflow_id": workflow_id, "timeout": 0})
    assert response.status_code == 202, response.json
    return uuid.UUID(response.json["execution_id"])


def ended(execution_id):
    execution = db.session.get(Execution, execution_id, populate_existing=True)
    return execution if execution.status in ("COMPLETED", "ERROR", "STOPPED") else None


def assert_every_file_completed_once(execution, files: int) -> None:
    rows = file_executions(execution.id)
    assert execution.status == "COMPLETED" and execution.successful_files == files, execution.error_message
    assert sorted(f.result["output"]["invoice_number"] for f in rows) == sorted(f"INV-{n}" for n in range(files))


def test_one_worker_processes_several_files_at_once_up_to_the_file_concurrency(
        world, acme, base_env, storage_root, tmp_path, llm_server):
    adapter = make_adapter(acme, llm_server.base_url, max_concurrency=16)
    workflow_id = llm_workflow(world, acme, storage_root, adapter, files=8, seconds=0.8)
    with workers(base_env, tmp_path, count=1, UNSTRACT_FILE_CONCURRENCY=4):
        execution_id = start(world, workflow_id)
        execution = wait_until(lambda: ended(execution_id), timeout=120)
    assert_every_file_completed_once(execution, 8)
    assert llm_server.stats()["peak_in_flight"] == 4  # side by side, and never more than the setting
    assert len(list((storage_root / "out" / "in").iterdir())) == 8


def test_an_adapters_max_concurrency_holds_across_two_workers(world, acme, base_env, storage_root, tmp_path,
                                                               llm_server):
    adapter = make_adapter(acme, llm_server.base_url, max_concurrency=3)
    workflow_id = llm_workflow(world, acme, storage_root, adapter, files=16, seconds=0.5)
    with workers(base_env, tmp_path, count=2, UNSTRACT_FILE_CONCURRENCY=4):
        execution_id = start(world, workflow_id)
        execution = wait_until(lambda: ended(execution_id), timeout=180)
    assert_every_file_completed_once(execution, 16)
    stats = llm_server.stats()
    assert stats["peak_in_flight"] == 3, stats  # 8 lanes wanted calls; the adapter allows 3 at once
    assert stats["completed"] == 16
    assert slots_in_use(rq.connection(), adapter.id) == 0  # every slot given back


def test_a_worker_killed_with_llm_calls_in_flight_leaves_one_result_per_file_and_no_slot(
        world, acme, base_env, storage_root, tmp_path, llm_server):
    adapter = make_adapter(acme, llm_server.base_url, max_concurrency=6)
    workflow_id = llm_workflow(world, acme, storage_root, adapter, files=16, seconds=1.5, destination="DATABASE")
    with workers(base_env, tmp_path, count=2, UNSTRACT_FILE_CONCURRENCY=4, UNSTRACT_FILE_LEASE_SECONDS=4,
                 UNSTRACT_ADAPTER_SLOT_LEASE_SECONDS=2) as processes:
        execution_id = start(world, workflow_id)
        wait_until(lambda: llm_server.stats()["in_flight"] >= 5, timeout=60)  # both workers are calling
        os.killpg(processes[0].pid, signal.SIGKILL)
        killed_in_flight = llm_server.stats()["in_flight"]
        execution = wait_until(lambda: ended(execution_id), timeout=180)
        # The killed worker's slots were never given back: they come back when their lease ends.
        wait_until(lambda: slots_in_use(rq.connection(), adapter.id) == 0, timeout=10)
    assert killed_in_flight >= 1
    assert_every_file_completed_once(execution, 16)
    files = file_executions(execution_id)
    assert max(f.attempts for f in files) >= 2  # the killed worker's files ran again elsewhere
    rows = sqlite3.connect(storage_root / "out.db").execute('SELECT "file_path" FROM "invoices"').fetchall()
    assert sorted(path for (path,) in rows) == sorted(f"in/inv-{n:03d}.txt" for n in range(16))  # none doubled
    assert llm_server.stats()["peak_in_flight"] <= 6


def test_stop_ends_files_waiting_for_a_slot(world, acme, base_env, storage_root, tmp_path, llm_server):
    adapter = make_adapter(acme, llm_server.base_url, max_concurrency=1)
    workflow_id = llm_workflow(world, acme, storage_root, adapter, files=6, seconds=1.5)
    with workers(base_env, tmp_path, count=1, UNSTRACT_FILE_CONCURRENCY=6):
        execution_id = start(world, workflow_id)
        wait_until(lambda: llm_server.stats()["in_flight"] == 1, timeout=60)  # one call, five files waiting
        response = world.api("owner").post("workflow/execute/", json={
            "workflow_id": workflow_id, "execution_id": str(execution_id), "execution_action": "STOP",
            "timeout": 20})
        assert response.status_code == 200, response.json
    assert response.json["execution_status"] == "STOPPED"
    statuses = [f.status for f in file_executions(execution_id)]
    assert statuses.count("STOPPED") >= 5 and not {"EXECUTING", "PENDING"} & set(statuses)
    assert llm_server.stats()["completed"] <= 2  # the waiting files never called
