"""A synchronous execute is woken through Redis pub/sub when its execution settles (docs/EXECUTION.md,
Waking a waiting execute). The slow poll is set to an hour where the wake-up is under test, so only the
wake-up can end those waits before the request's timeout (which would answer 202 instead)."""

from __future__ import annotations

import sys
import threading
import uuid
from contextlib import contextmanager

import pytest
import redis
from sqlalchemy import event

from tests.engine.harness import INVOICE_RULES, invoice_folder, run_jobs
from tests.engine.workers import wait_until
from tests.factories import add_tool, configure, make_execution, make_workflow
from tests.support import ApiClient, start_embedded_redis
from unstract.extensions import db
from unstract.models import Execution, Phase, Status
from unstract.services import accounts, queueing, wakeups
from unstract.services import execution_state as state
from unstract.services.workflows import stop_running_executions
from unstract.worker.listing import pause

HOUR = 3600
REQUEST_TIMEOUT = 120  # the execute's own `timeout`: reached only when no wake-up came


@pytest.fixture
def folder_workflow(world, acme, storage_root):
    connector = invoice_folder(storage_root, acme.id, 1)
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "FILESYSTEM", connector, outputFolder="out")
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    return workflow


def _api(app) -> ApiClient:
    return ApiClient(app.test_client(), "acme", accounts.create_api_key("acme", "owner@acme.test", "full_access"))


@contextmanager
def sync_executes(api: ApiClient, bodies: list[dict]):
    """POST each body in a thread of its own; yields the list the answers land in (in body order)."""
    answers: list = [None] * len(bodies)

    def call(n: int) -> None:
        answers[n] = api.post("workflow/execute/", json=bodies[n])

    threads = [threading.Thread(target=call, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    try:
        yield answers
    finally:
        for thread in threads:
            thread.join(REQUEST_TIMEOUT + 30)


def _listener(app) -> wakeups.SettledListener | None:
    return app.extensions["rq"]["listener"]


def _subscribed(app) -> wakeups.SettledListener:
    listener = _listener(app)
    wait_until(listener.subscribed.is_set, timeout=60)
    return listener


def _queued(execution_id: uuid.UUID) -> bool:
    return queueing.job_is_live(queueing.listing_job_id(execution_id))


def _waiting(app, count: int) -> None:
    """Until `count` requests of `app` wait in the listener (their executions exist and are queued)."""
    wait_until(lambda: _listener(app) is not None and _listener(app).waiting() == count, timeout=60)


def test_a_sync_execute_answers_when_its_completion_is_published(app, make_app, folder_workflow):
    waiting_app = make_app(UNSTRACT_SYNC_POLL_SECONDS=HOUR)
    body = {"workflow_id": str(folder_workflow.id), "timeout": REQUEST_TIMEOUT}
    with sync_executes(_api(waiting_app), [body]) as answers:
        _waiting(waiting_app, 1)
        run_jobs(app)  # another app, as a worker process is: it publishes after its commit
    assert answers[0].status_code == 200, answers[0].json
    assert answers[0].json["execution_status"] == "COMPLETED"
    assert _listener(waiting_app).waiting() == 0


def _inside_wait_for() -> bool:
    frame = sys._getframe()
    while frame is not None and frame.f_code.co_name != "wait_for":
        frame = frame.f_back
    return frame is not None


def test_a_waiting_execute_holds_no_database_connection(app, make_app, folder_workflow):
    waiting_app = make_app(UNSTRACT_SYNC_POLL_SECONDS=HOUR)
    with waiting_app.app_context():
        engine = db.engine
    returned_while_waiting: list = []
    event.listen(engine, "checkin", lambda *_: returned_while_waiting.append(_inside_wait_for()))
    body = {"workflow_id": str(folder_workflow.id), "timeout": REQUEST_TIMEOUT}
    with sync_executes(_api(waiting_app), [body]) as answers:
        wait_until(lambda: any(returned_while_waiting), timeout=60)  # its first read of the row is over
        assert engine.pool.checkedout() == 0  # a pool of N connections serves any number of waiters
        run_jobs(app)
    assert answers[0].status_code == 200


def test_waiters_of_several_executions_are_each_answered(app, make_app, folder_workflow):
    waiting_app = make_app(UNSTRACT_SYNC_POLL_SECONDS=HOUR)
    body = {"workflow_id": str(folder_workflow.id), "timeout": REQUEST_TIMEOUT, "use_file_history": False}
    with sync_executes(_api(waiting_app), [body] * 3) as answers:
        _waiting(waiting_app, 3)
        run_jobs(app)
    assert [a.status_code for a in answers] == [200] * 3
    ids = {a.json["execution_id"] for a in answers}
    assert len(ids) == 3 and {a.json["execution_status"] for a in answers} == {"COMPLETED"}


def test_the_listener_wakes_only_the_waiters_of_the_published_execution(make_app):
    waiting_app = make_app()
    first, second = uuid.uuid4(), uuid.uuid4()
    with waiting_app.app_context(), wakeups.waiter(first) as first_a, wakeups.waiter(first) as first_b, \
            wakeups.waiter(second) as other:
        _subscribed(waiting_app)
        for woken in (first_a, first_b, other):
            woken.clear()
        wakeups.publish({str(second)})
        assert other.wait(30)
        assert not first_a.is_set() and not first_b.is_set()  # messages are dispatched in order
        wakeups.publish({str(first)})
        assert first_a.wait(30) and first_b.wait(30)
        assert _listener(waiting_app).waiting() == 3
    assert _listener(waiting_app).waiting() == 0


def test_without_wakeups_the_wait_falls_back_to_the_poll(app, make_app, folder_workflow):
    waiting_app = make_app(UNSTRACT_SYNC_WAKEUPS="false", UNSTRACT_SYNC_POLL_SECONDS=1)
    body = {"workflow_id": str(folder_workflow.id), "timeout": REQUEST_TIMEOUT}
    with sync_executes(_api(waiting_app), [body]) as answers:
        execution_id = wait_until(lambda: db.session.scalar(db.select(Execution.id)), timeout=60)
        wait_until(lambda: _queued(execution_id), timeout=60)
        run_jobs(app)
    assert answers[0].status_code == 200 and answers[0].json["execution_status"] == "COMPLETED"
    assert _listener(waiting_app) is None  # no subscription was made


@contextmanager
def settled_messages(redis_url: str):
    """The execution ids of this test's database published on the channel, read up to a marker published
    last (so none is missed). Pub/sub ignores the Redis database number: ids of other runs on the same
    server are left out."""
    pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(wakeups.CHANNEL)
    pubsub.get_message(timeout=10)  # the subscription is confirmed
    received: list[str] = []
    yield received
    redis.Redis.from_url(redis_url).publish(wakeups.CHANNEL, "marker")
    while (message := pubsub.get_message(timeout=30)) is not None and message["data"] != b"marker":
        received.append(message["data"].decode())
    pubsub.close()
    ours = {str(execution_id) for execution_id in db.session.scalars(db.select(Execution.id))}
    received[:] = [execution_id for execution_id in received if execution_id in ours]


def _running(workflow, **fields) -> Execution:
    return make_execution(workflow, status=Status.EXECUTING, phase=Phase.PROCESSING, **fields)


def test_every_way_an_execution_settles_is_published_after_its_commit(app, redis_url, world, acme):
    workflow = make_workflow(world.users["owner"], acme)
    finished, failed, paused = _running(workflow), _running(workflow), _running(workflow)
    unclaimed, rolled_back = make_execution(workflow), _running(workflow)
    data_dir = app.config["UNSTRACT_SETTINGS"].data_dir
    with settled_messages(redis_url) as received:
        state.finalize(finished.id, data_dir)
        state.fail_execution(failed.id, "boom", data_dir)
        state.stop_unclaimed(unclaimed.id, data_dir)
        pause(db.session.get(Execution, paused.id), 2)
        assert state.transition_execution(rolled_back.id, Status.ERROR)
        db.session.rollback()
    assert received == [str(e.id) for e in (finished, failed, unclaimed, paused)]
    assert db.session.get(Execution, rolled_back.id, populate_existing=True).status == Status.EXECUTING


def test_deleting_a_workflow_publishes_its_running_executions(redis_url, world, acme):
    workflow = make_workflow(world.users["owner"], acme)
    running = _running(workflow)
    make_execution(workflow, status=Status.COMPLETED)
    with settled_messages(redis_url) as received:
        stop_running_executions(workflow.id)
    assert received == [str(running.id)]
    assert db.session.get(Execution, running.id, populate_existing=True).status == Status.STOPPED


def test_nothing_is_published_when_wakeups_are_off(make_app, redis_url, world, acme):
    execution = _running(make_workflow(world.users["owner"], acme))
    quiet_app = make_app(UNSTRACT_SYNC_WAKEUPS="false")
    with settled_messages(redis_url) as received, quiet_app.app_context():
        state.fail_execution(execution.id, "boom", quiet_app.config["UNSTRACT_SETTINGS"].data_dir)
        db.session.remove()
    assert received == []


def test_the_listener_survives_a_redis_restart_and_wakes_its_waiters(make_app, tmp_path):
    redis_dir = tmp_path / "own-redis"
    process, url = start_embedded_redis(redis_dir)
    waiting_app = make_app(REDIS_URL=url)
    execution_id = uuid.uuid4()
    try:
        with waiting_app.app_context(), wakeups.waiter(execution_id) as woken:
            listener = _subscribed(waiting_app)
            woken.clear()
            process.terminate()
            process.wait(timeout=10)
            process, _ = start_embedded_redis(redis_dir)
            assert woken.wait(60)  # the gap: every waiter re-reads the database
            wait_until(listener.subscribed.is_set, timeout=60)
            woken.clear()
            wakeups.publish({str(execution_id)})
            assert woken.wait(30)
    finally:
        process.terminate()
        process.wait(timeout=10)
