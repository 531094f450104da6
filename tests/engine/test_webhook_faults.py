"""Webhook deliveries across faults, with real worker processes and a real receiver on loopback
(tests/webhook_receiver.py): a receiver that hangs, Redis restarted between attempts, a worker killed
in the middle of an attempt. The delivery state lives in the database, so none of these loses it."""

from __future__ import annotations

import os
import signal

import pytest

from tests.engine.test_webhooks import HOOK_ENV, add_notification, end_execution, job_context, only_delivery
from tests.engine.workers import start_worker, wait_until, worker_env, workers
from tests.factories import make_workflow
from tests.support import ApiClient, start_embedded_redis
from tests.webhook_receiver import start_receiver, stop_receiver
from unstract.extensions import db
from unstract.models import Delivery
from unstract.services import accounts
from unstract.worker.webhooks import deliver

pytestmark = pytest.mark.slow


@pytest.fixture
def receiver():
    server = start_receiver()
    yield server
    stop_receiver(server)


def _settled(delivery_id):
    db.session.expire_all()
    delivery = db.session.get(Delivery, delivery_id)
    return delivery if delivery.status != "pending" else None


def test_a_receiver_that_hangs_times_out_and_the_attempt_is_recorded(world, make_app, receiver):
    app = make_app(**{**HOOK_ENV, "UNSTRACT_WEBHOOK_TIMEOUT_SECONDS": "1"})
    api = ApiClient(app.test_client(), "acme", accounts.create_api_key("acme", "owner@acme.test", "full_access"))
    workflow = make_workflow(world.users["owner"], "acme")
    receiver.plan = ["hang"]
    add_notification(api, workflow, receiver.url, max_retries=1)
    end_execution(workflow)
    delivery_id = only_delivery().id
    deliver(delivery_id, job_context(app))
    first = only_delivery()
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, None)
    assert first.last_error == "No answer within 1 s."


def test_a_retry_survives_a_redis_restart_between_attempts(world, base_env, make_app, receiver, tmp_path):
    redis_dir = tmp_path / "own-redis"
    process, url = start_embedded_redis(redis_dir)
    env = {**HOOK_ENV, "REDIS_URL": url, "UNSTRACT_WEBHOOK_RETRY_BASE_SECONDS": "2"}
    app = make_app(**env)
    api = ApiClient(app.test_client(), "acme", accounts.create_api_key("acme", "owner@acme.test", "full_access"))
    workflow = make_workflow(world.users["owner"], "acme")
    receiver.plan = [500]
    try:
        with workers({**base_env, **env}, tmp_path, count=1):
            add_notification(api, workflow, receiver.url)
            with app.app_context():  # the terminal commit queues the job on this Redis
                end_execution(workflow)
            delivery_id = only_delivery().id
            wait_until(lambda: len(receiver.received) == 1, timeout=60)
            wait_until(lambda: (d := db.session.get(Delivery, delivery_id)) and d.attempts == 1 and d.lease_expires_at
                       is None, timeout=30)
            process.terminate()  # the scheduled retry goes with it
            process.wait(timeout=10)
            process, _ = start_embedded_redis(redis_dir)  # empty
            delivery = wait_until(lambda: _settled(delivery_id), timeout=120)
    finally:
        process.terminate()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 2, 200)
    assert receiver.delivery_ids() == [str(delivery_id)] * 2


def test_an_attempt_of_a_killed_worker_is_taken_again(world, base_env, make_app, receiver, tmp_path):
    env = {**HOOK_ENV, "UNSTRACT_WEBHOOK_TIMEOUT_SECONDS": "2"}
    app = make_app(**env)
    api = ApiClient(app.test_client(), "acme", accounts.create_api_key("acme", "owner@acme.test", "full_access"))
    workflow = make_workflow(world.users["owner"], "acme")
    receiver.plan = ["hang"]
    add_notification(api, workflow, receiver.url)
    with workers({**base_env, **env}, tmp_path, count=1) as processes:
        end_execution(workflow)
        delivery_id = only_delivery().id
        wait_until(lambda: len(receiver.received) == 1, timeout=60)  # the worker waits on the receiver
        os.killpg(processes[0].pid, signal.SIGKILL)
        processes[0].wait(timeout=10)
        processes.append(start_worker(worker_env({**base_env, **env}), tmp_path, "worker-2"))
        delivery = wait_until(lambda: _settled(delivery_id), timeout=120)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 2, 200)
    assert receiver.delivery_ids() == [str(delivery_id)] * 2
