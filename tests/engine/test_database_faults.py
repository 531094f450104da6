"""Database outages under real workers (docs/RELIABILITY.md, Transient faults): a loopback TCP proxy
(tests/engine/tcp_proxy.py) stands between the workers and PostgreSQL and is cut and restored.

Nothing is lost or doubled, no file spends an attempt on the outage, no job fails, and the execution
log says what happened."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from flask_migrate import upgrade
from rq.registry import FailedJobRegistry
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tests.engine.tcp_proxy import TcpProxy
from tests.engine.workers import SLOW_RULE, SLOW_TEXT, file_executions, slow_folder_workflow, wait_until, workers
from tests.factories import add_tool, configure, make_connector, make_workflow, organization
from tests.support import ApiClient, postgres_server_url, requires_postgres, scratch_postgres_database
from unstract.extensions import db, rq
from unstract.models import Execution, ExecutionLog, Stage
from unstract.services import accounts, queueing

pytestmark = [pytest.mark.slow, requires_postgres]

FILES = 8
RETRY_NOTE = "Retrying after a transient database error: "
LEASE = 30  # long enough that the reaper never takes a file during these outages


def _proxy_to_postgres() -> TcpProxy:
    server = make_url(postgres_server_url())
    return TcpProxy(server.host or "127.0.0.1", server.port or 5432).start()


def _start(api: ApiClient, workflow_id: str) -> uuid.UUID:
    response = api.post("workflow/execute/", json={"workflow_id": workflow_id, "timeout": 0})
    assert response.status_code == 202, response.json
    return uuid.UUID(response.json["execution_id"])


def _terminal(execution_id):
    execution = db.session.get(Execution, execution_id, populate_existing=True)
    return execution if execution.status in ("COMPLETED", "ERROR", "STOPPED") else None


def _completed(execution_id) -> int:
    return sum(f.status == "COMPLETED" for f in file_executions(execution_id))


def _notes(execution_id, stage: str) -> list[str]:
    rows = db.session.scalars(db.select(ExecutionLog).where(ExecutionLog.execution_id == execution_id,
                                                            ExecutionLog.stage == stage)).all()
    return [row.data["log"] for row in rows if row.data["log"].startswith(RETRY_NOTE)]


def _failed_jobs() -> int:
    return FailedJobRegistry(queue=rq.queue()).count


def _assert_every_file_completed_once_in_one_attempt(execution_id) -> None:
    execution = _terminal(execution_id)
    files = file_executions(execution_id)
    assert execution is not None and execution.status == "COMPLETED", execution
    assert execution.successful_files == FILES and execution.failed_files == 0
    assert [f.status for f in files] == ["COMPLETED"] * FILES
    assert [f.attempts for f in files] == [1] * FILES
    assert _failed_jobs() == 0


def _slow_database_workflow(world, acme, storage_root, metadata: dict) -> str:
    """`FILES` documents of about a second each into a PostgreSQL table."""
    (storage_root / "in").mkdir()
    for n in range(FILES):
        (storage_root / "in" / f"doc-{n:03d}.txt").write_text(f"{SLOW_TEXT}document {n}\n")
    source = make_connector(acme.id, "Local", "local_storage", {"path": str(storage_root)})
    target = make_connector(acme.id, "DB", "postgresql", metadata)
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", source, folders=["in"])
    configure(workflow, "DESTINATION", "DATABASE", target, table="invoices")
    add_tool(workflow, "field_extractor", rules=[SLOW_RULE])
    return str(workflow.id)


def test_destination_outage_of_five_seconds_is_waited_out(world, acme, base_env, storage_root, tmp_path):
    proxy = _proxy_to_postgres()
    with scratch_postgres_database("dest") as url:
        dest = make_url(url)
        workflow_id = _slow_database_workflow(world, acme, storage_root, {
            "host": "127.0.0.1", "port": proxy.port, "database": dest.database, "user": dest.username,
            "password": dest.password or ""})
        try:
            with workers(base_env, tmp_path, count=1, UNSTRACT_FILE_LEASE_SECONDS=LEASE):
                execution_id = _start(world.api("owner"), workflow_id)
                wait_until(lambda: _completed(execution_id) >= 2, timeout=120)
                with proxy.outage(5):
                    pass
                wait_until(lambda: _terminal(execution_id), timeout=180)
        finally:
            proxy.close()
        _assert_every_file_completed_once_in_one_attempt(execution_id)
        assert _notes(execution_id, Stage.DESTINATION)
        engine = create_engine(url)
        with engine.connect() as conn:
            written = conn.execute(text('SELECT "file_execution_id" FROM "invoices"')).scalars().all()
        engine.dispose()
        assert sorted(str(row) for row in written) == sorted(str(f.id) for f in file_executions(execution_id))


def test_postgresql_restart_pauses_the_worker_and_spends_no_attempt(make_app, base_env, storage_root, tmp_path):
    """The workers reach the application database through the proxy; the API and the test do not."""
    proxy = _proxy_to_postgres()
    with scratch_postgres_database("restart") as url:
        app = make_app(DATABASE_URL=url)
        with app.app_context():
            try:
                api = _acme_on_a_fresh_database()
                workflow_id = slow_folder_workflow(
                    SimpleNamespace(users={"owner": accounts.find_user("owner@acme.test")}), storage_root, FILES)
                proxied = make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
                proxy.cut()  # down before the worker starts: it must not take the listing job
                execution_id = _start(api, workflow_id)
                with workers({**base_env, "DATABASE_URL": proxied}, tmp_path, count=1,
                             UNSTRACT_FILE_LEASE_SECONDS=LEASE):
                    wait_until(lambda: "taking no job" in (tmp_path / "worker-0.log").read_text(), timeout=60)
                    assert queueing.listing_job_id(execution_id) in rq.queue().job_ids
                    assert _failed_jobs() == 0 and _terminal(execution_id) is None
                    proxy.restore()
                    # The outcome of file 3 commits with the claim of file 4, of the same batch of two:
                    # the outage starts while a job is in the middle of its batch.
                    wait_until(lambda: _completed(execution_id) >= 3, timeout=120)
                    with proxy.outage(2):
                        pass
                    wait_until(lambda: _terminal(execution_id), timeout=180)
                _assert_every_file_completed_once_in_one_attempt(execution_id)
                assert _terminal(execution_id).attempts == 1
                assert _notes(execution_id, Stage.PROCESSING)
                outputs = sorted(p.name for p in (storage_root / "out" / "in").iterdir())
                assert outputs == [f"doc-{n:03d}.txt.json" for n in range(FILES)]
            finally:
                proxy.close()
                db.session.remove()
                db.engine.dispose()


def _acme_on_a_fresh_database() -> ApiClient:
    from flask import current_app

    upgrade()
    accounts.create_org("acme", "Acme")
    accounts.add_user("owner@acme.test", "password123", "acme", "member")
    key = accounts.create_api_key("acme", "owner@acme.test", "full_access")
    assert organization("acme") is not None
    return ApiClient(current_app.test_client(), "acme", key)


def test_proxy_cut_refuses_and_closes_then_restore_serves_again():
    proxy = _proxy_to_postgres()
    server = make_url(postgres_server_url())
    engine = create_engine(server.set(host="127.0.0.1", port=proxy.port), pool_pre_ping=False)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
            proxy.cut()
            with pytest.raises(OperationalError):
                conn.execute(text("SELECT 1"))
        with pytest.raises(OperationalError):
            engine.connect()
        proxy.restore()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        proxy.close()
        engine.dispose()
