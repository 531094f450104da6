"""Live-log tailing with `after=<id>` under concurrent writers: every row is seen exactly once.

Writers are threads with their own sessions and connections, writing log rows as the engine does
(RunLog, rows staged and committed with the transaction's other work). On PostgreSQL a writer whose
transaction drew a lower id can commit after one with a higher id; a tail must still never skip it.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest

from tests.factories import make_execution, make_file_execution
from unstract.extensions import db
from unstract.models import ExecutionLog, Stage
from unstract.services import execution_pages as pages
from unstract.services.execution_queries import LogFilter
from unstract.services.runlog import RunLog

WRITERS = 8
TRANSACTIONS = 30  # per writer
ROWS = 3  # per transaction


def write_logs(app, execution_id, file_execution_id, seed: int, failures: list) -> None:
    """One worker: transactions that stage log rows, do a little more work, then commit."""
    rng = random.Random(seed)
    try:
        with app.app_context():
            for n in range(TRANSACTIONS):
                log = RunLog(execution_id, "acme")
                for line in range(ROWS):
                    log.info(Stage.PROCESSING, f"writer {seed} transaction {n} line {line}",
                             file_execution_id=file_execution_id if line % 2 else None)
                log.flush()
                time.sleep(rng.uniform(0, 0.004))  # the rest of the transaction's work
                db.session.commit()
            db.session.remove()
    except Exception as exc:  # noqa: BLE001 — reported to the test thread
        failures.append(exc)


def tail_api(api, execution_id, done: threading.Event) -> list[int]:
    """What a client of GET logs/?after= does: its next cursor is the largest id it has seen."""
    seen, cursor = [], 0
    while True:
        finished = done.is_set()  # read before the request: a last read after the writers end
        response = api.get(f"workflow/execution/{execution_id}/logs/?after={cursor}&page_size=1000")
        assert response.status_code == 200, response.json
        assert response.json["next"] is None  # the test stays within one page per read
        ids = [row["id"] for row in response.json["results"]]
        seen += ids
        cursor = max([cursor, *ids])
        if finished:
            return seen


def tail_dashboard(app, execution, done: threading.Event) -> list[int]:
    """What the dashboard's log panel does: log_after batches, polling from the window's cursor."""
    seen, cursor = [], 0
    with app.app_context():
        while True:
            finished = done.is_set()
            window = pages.log_after(execution, LogFilter(after=cursor), 50)
            seen += [row.id for row in window.rows]
            cursor = window.cursor
            db.session.rollback()  # a poll is one request: its transaction ends
            if finished and not window.more:
                db.session.remove()
                return seen


def test_a_tail_sees_every_row_once_under_concurrent_writers(app, world, workflow):
    execution = make_execution(workflow, status="EXECUTING")
    file_execution = make_file_execution(execution)
    api = world.api("owner")
    done, failures, results = threading.Event(), [], {}
    writers = [threading.Thread(target=write_logs, args=(app, execution.id, file_execution.id, seed, failures))
               for seed in range(WRITERS)]
    readers = [
        threading.Thread(target=lambda: results.update(api=tail_api(api, execution.id, done))),
        threading.Thread(target=lambda: results.update(dashboard=tail_dashboard(app, execution, done))),
    ]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in readers:
        thread.join()
    assert failures == []
    written = set(db.session.scalars(db.select(ExecutionLog.id).where(ExecutionLog.execution_id == execution.id)))
    assert len(written) == WRITERS * TRANSACTIONS * ROWS
    for reader in ("api", "dashboard"):
        counts = Counter(results[reader])
        assert [i for i, n in counts.items() if n > 1] == [], f"{reader} saw rows twice"
        assert sorted(written - set(counts)) == [], f"{reader} skipped rows"


def test_staged_rows_are_inserted_by_the_commit_and_dropped_by_a_rollback(world, workflow):
    execution = make_execution(workflow)
    kept, dropped = RunLog(execution.id, "acme"), RunLog(execution.id, "acme")
    dropped.info(Stage.PROCESSING, "rolled back")
    dropped.flush()
    db.session.rollback()
    kept.info(Stage.PROCESSING, "committed")
    kept.flush()
    db.session.commit()
    messages = db.session.scalars(db.select(ExecutionLog.data)).all()
    assert [data["log"] for data in messages] == ["committed"]


@pytest.mark.parametrize("after", [0, 5])
def test_a_tail_read_on_an_execution_without_writers_answers_at_once(world, workflow, after):
    execution = make_execution(workflow)
    response = world.api("owner").get(f"workflow/execution/{execution.id}/logs/?after={after}")
    assert response.status_code == 200 and response.json["results"] == []
