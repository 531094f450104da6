"""Connector secrets: sealed at rest, masked in every answer, absent from logs, run logs and errors."""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid

import pytest
from sqlalchemy import select, text

from tests.engine.harness import run_jobs
from tests.factories import add_tool, configure, make_workflow
from unstract.extensions import db
from unstract.models import Connector, Execution, ExecutionLog, FileExecution

SECRET = "pw-7f3a9c-never-shown"


@pytest.fixture
def app_loggers():
    """Alembic's fileConfig (run by the migration in the `app` fixture) disables the loggers that existed
    before it; turn ours back on so this test sees what they would log."""
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
               if name.startswith(("unstract", "rq"))]
    disabled = [logger for logger in loggers if logger.disabled]
    for logger in disabled:
        logger.disabled = False
    yield
    for logger in disabled:
        logger.disabled = True


@pytest.fixture
def short_transient_retries(app, monkeypatch):
    """The refused connection is transient: retried (and logged) for 2 s instead of the default minute."""
    settings = dataclasses.replace(app.config["UNSTRACT_SETTINGS"], transient_retry_seconds=2)
    monkeypatch.setitem(app.config, "UNSTRACT_SETTINGS", settings)


def _connector(owner, name: str, connector_id: str, metadata: dict) -> Connector:
    response = owner.post("connector/", json={"connector_name": name, "connector_id": connector_id,
                                              "connector_metadata": metadata})
    assert response.status_code == 201, response.get_json()
    return db.session.get(Connector, uuid.UUID(response.json["id"]))


def _run_into_unreachable_database(app, world, storage_root) -> tuple[Execution, list[str]]:
    """One file from a local folder to a PostgreSQL destination that refuses connections."""
    owner = world.api("owner")
    (storage_root / "in").mkdir()
    (storage_root / "in" / "a.txt").write_text("Invoice Number: INV-1\nTotal: 3\n")
    folder = _connector(owner, "Inbox", "local_storage", {"path": str(storage_root)})
    warehouse = _connector(owner, "Warehouse", "postgresql", {"host": "127.0.0.1", "port": 1, "database": "nowhere",
                                                              "user": "writer", "password": SECRET})
    workflow = make_workflow(world.users["owner"], "acme")
    configure(workflow, "SOURCE", "FILESYSTEM", folder, folders=["in"])
    configure(workflow, "DESTINATION", "DATABASE", warehouse, table="invoices")
    add_tool(workflow, "text_extractor")
    started = owner.post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0})
    assert started.status_code == 202, started.get_json()
    run_jobs(app)
    execution_id = started.json["execution_id"]
    answers = [owner.get(path).get_data(as_text=True) for path in (
        "connector/", f"connector/{warehouse.id}/", f"workflow/{workflow.id}/endpoint/",
        f"workflow/execution/{execution_id}/", f"workflow/execution/{execution_id}/files/",
        f"workflow/execution/{execution_id}/logs/?page_size=1000")]
    return db.session.get(Execution, uuid.UUID(execution_id)), answers


def test_a_database_password_used_by_a_failing_run_never_shows(app, world, storage_root, caplog, capfd, app_loggers,
                                                               short_transient_retries):
    caplog.set_level(logging.DEBUG)
    execution, answers = _run_into_unreachable_database(app, world, storage_root)
    files = db.session.scalars(select(FileExecution).where(FileExecution.execution_id == execution.id)).all()
    assert [file.status for file in files] == ["ERROR"]  # the password was used, and the failure reported
    stored = db.session.execute(text("SELECT connector_metadata FROM connector")).scalars().all()
    run_logs = db.session.scalars(select(ExecutionLog.data)).all()
    assert "Retrying after a transient database error" in json.dumps(run_logs)  # the retries were logged too
    places = {"answers": answers, "stored": [str(value) for value in stored], "run logs": [json.dumps(run_logs)],
              "errors": [execution.error_message, *(file.execution_error or "" for file in files)],
              "app logs": [caplog.text, *capfd.readouterr()]}
    for where, texts in places.items():
        assert not any(SECRET in item for item in texts), where
    assert any('"password": "********"' in answer or '"password":"********"' in answer for answer in answers)
