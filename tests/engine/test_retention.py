"""Retention (docs/EXECUTION.md, Retention): the purge in batches, its dry run, the CLI and the periodic lock."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import event, func, select

from tests.factories import acme_workflow, make_execution, make_file_execution, make_history, make_log
from unstract.cli import main
from unstract.extensions import db, rq
from unstract.models import Execution, ExecutionLog, FileExecution, FileHistory
from unstract.models.base import utcnow
from unstract.services import retention


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def aged(world):
    """Two executions older than 90 days (three files and logs each), one recent with an old and a new log
    row, a running old one, a retry of an old one and the workflow's file history."""
    workflow = acme_workflow(world)
    long_ago = utcnow() - timedelta(days=100)
    old = []
    for _ in range(2):
        execution = make_execution(workflow, status="COMPLETED", created_at=long_ago)
        for _ in range(3):
            fe = make_file_execution(execution, status="COMPLETED")
            make_log(execution, "old", file_execution=fe, event_time=long_ago)
        old.append(execution)
    running = make_execution(workflow, status="EXECUTING", phase="PROCESSING", created_at=long_ago)
    recent = make_execution(workflow, status="ERROR", retry_of=old[0].id)
    make_log(recent, "older than the log retention", event_time=utcnow() - timedelta(days=31))
    make_log(recent, "fresh")
    make_history(workflow, status="COMPLETED", created_at=long_ago, modified_at=long_ago)
    return {"old": old, "running": running, "recent": recent}


def test_purge_deletes_old_ended_executions_and_old_logs_in_batches_and_keeps_history(app, aged, monkeypatch):
    monkeypatch.setattr(retention, "BATCH_SIZE", 2)
    monkeypatch.setattr(retention, "EXECUTION_BATCH", 1)
    deletes: list[tuple[str, int]] = []

    def note(conn, cursor, statement, parameters, *args):
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append((statement.split()[2], len(parameters)))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        report = retention.purge(app.config["UNSTRACT_SETTINGS"])
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert (report.executions, report.file_executions, report.logs) == (2, 6, 7)
    assert all(size <= 2 for _, size in deletes)  # never more than a batch per statement
    assert [table for table, _ in deletes].count("file_execution") == 4  # 3 files per execution: 2 + 1, twice
    remaining = {row.id for row in db.session.scalars(select(Execution))}
    assert remaining == {aged["running"].id, aged["recent"].id}
    assert db.session.get(Execution, aged["recent"].id).retry_of is None  # the link goes with the old one
    assert [row.data["log"] for row in db.session.scalars(select(ExecutionLog))] == ["fresh"]
    assert _count(FileHistory) == 1  # never purged by age


def test_zero_keeps_forever(app, aged):
    settings = replace(app.config["UNSTRACT_SETTINGS"], execution_retention_days=0, log_retention_days=0)
    assert retention.purge(settings).describe(dry_run=False).startswith("Deleted 0 execution(s) with 0 file")
    assert _count(Execution) == 4 and _count(ExecutionLog) == 8


def test_dry_run_counts_what_would_go_and_deletes_nothing(app, aged):
    report = retention.purge(app.config["UNSTRACT_SETTINGS"], dry_run=True)
    assert (report.executions, report.file_executions, report.logs) == (2, 6, 7)
    assert _count(Execution) == 4 and _count(ExecutionLog) == 8 and _count(FileExecution) == 6


def test_cli_purge_dry_run_prints_and_purge_deletes(base_env, aged):
    runner = CliRunner()
    dry = runner.invoke(main, ["purge", "--dry-run"], env=base_env, catch_exceptions=False)
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout == ("Log retention: 30 day(s); execution retention: 90 day(s); kept uploads: 24 h.\n"
                          "Would delete 2 execution(s) with 6 file execution(s), 7 log row(s) and 0 kept upload "
                          "folder(s); file history is kept.\n")
    assert _count(Execution) == 4
    done = runner.invoke(main, ["purge"], env={**base_env, "UNSTRACT_EXECUTION_RETENTION_DAYS": "0"},
                         catch_exceptions=False)
    assert done.stdout.splitlines() == [
        "Log retention: 30 day(s); execution retention: forever; kept uploads: 24 h.",
        "Deleted 0 execution(s) with 0 file execution(s), 7 log row(s) and 0 kept upload folder(s); file history "
        "is kept."]  # executions are kept forever, their logs older than 30 days are not
    db.session.rollback()
    assert _count(Execution) == 4 and _count(ExecutionLog) == 1
    bad = runner.invoke(main, ["purge"], env={**base_env, "UNSTRACT_LOG_RETENTION_DAYS": "-1"})
    assert bad.exit_code == 2 and "UNSTRACT_LOG_RETENTION_DAYS must be 0 or more, got -1." in bad.stderr


def test_kept_uploads_go_after_their_hours_and_orphans_after_a_grace(app, world):
    settings = app.config["UNSTRACT_SETTINGS"]
    workflow = acme_workflow(world)
    expired = make_execution(workflow, status="ERROR", created_at=utcnow() - timedelta(hours=30), execution_time=5.0)
    kept = make_execution(workflow, status="ERROR", created_at=utcnow() - timedelta(hours=2), execution_time=5.0)
    running = make_execution(workflow, status="EXECUTING", created_at=utcnow() - timedelta(hours=30))
    fresh_orphan, old_orphan = uuid.uuid4(), uuid.uuid4()
    for name in (expired.id, kept.id, running.id, fresh_orphan, old_orphan):
        folder = settings.data_dir / "uploads" / str(name)
        folder.mkdir(parents=True)
        (folder / "0000").write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(settings.data_dir / "uploads" / str(old_orphan), (two_hours_ago, two_hours_ago))
    assert retention.purge(settings, dry_run=True).upload_folders == 2
    assert retention.purge(settings).upload_folders == 2
    left = sorted(path.name for path in (settings.data_dir / "uploads").iterdir())
    assert left == sorted(str(name) for name in (kept.id, running.id, fresh_orphan))


def test_the_periodic_purge_runs_once_per_interval_across_workers(app, aged):
    settings = app.config["UNSTRACT_SETTINGS"]
    connection = rq.connection()
    first = retention.purge_if_due(settings, connection)
    assert first is not None and first.executions == 2
    assert retention.purge_if_due(settings, connection) is None  # another worker, same interval: skipped
    assert 0 < connection.ttl(retention.LOCK_KEY) <= retention.INTERVAL_SECONDS
    connection.delete(retention.LOCK_KEY)  # the interval is over
    assert retention.purge_if_due(settings, connection).executions == 0
