"""An adapter's call slots in Redis (unstract/services/adapter_slots.py), on the session's real Redis."""

from __future__ import annotations

import threading
import time
import uuid

import redis

from unstract.services.adapter_slots import slots_in_use, try_take, wait_for_free_slot


def connection(redis_url):
    return redis.Redis.from_url(redis_url)


def test_no_more_slots_than_the_limit_are_taken_and_a_partial_grant_is_allowed(redis_url):
    conn, adapter = connection(redis_url), uuid.uuid4()
    first = try_take(conn, adapter, limit=3, wanted=2, lease_seconds=30)
    second = try_take(conn, adapter, limit=3, wanted=2, lease_seconds=30)  # one is left: it gets one
    assert len(first.tokens) == 2 and len(second.tokens) == 1
    assert try_take(conn, adapter, limit=3, wanted=1, lease_seconds=30) is None
    assert slots_in_use(conn, adapter) == 3
    second.give_back()
    assert len(try_take(conn, adapter, limit=3, wanted=5, lease_seconds=30).tokens) == 1


def test_a_slot_that_is_not_renewed_comes_back_after_its_lease(redis_url):
    conn, adapter = connection(redis_url), uuid.uuid4()
    renewed = try_take(conn, adapter, limit=2, wanted=1, lease_seconds=0.6)
    try_take(conn, adapter, limit=2, wanted=1, lease_seconds=0.6)  # its holder was killed: never renewed
    for _ in range(4):
        time.sleep(0.25)
        renewed.renew()
    assert slots_in_use(conn, adapter) == 1  # the renewed one is still held, the other expired
    assert len(try_take(conn, adapter, limit=2, wanted=2, lease_seconds=30).tokens) == 1


def test_giving_a_slot_back_wakes_a_waiting_caller(redis_url):
    conn, adapter = connection(redis_url), uuid.uuid4()
    held = try_take(conn, adapter, limit=1, wanted=1, lease_seconds=30)
    woke_after: list[float] = []

    def waiter():
        started = time.monotonic()
        wait_for_free_slot(conn, adapter, 5)
        woke_after.append(time.monotonic() - started)

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.3)
    held.give_back()
    thread.join(10)
    assert woke_after and woke_after[0] < 4  # woken by the give-back, not by its 5 s timeout
    assert try_take(conn, adapter, limit=1, wanted=1, lease_seconds=30) is not None


def test_settings_of_throughput_are_read_and_checked():
    from unstract.config import ConfigError, read_settings

    settings = read_settings({"UNSTRACT_FILE_CONCURRENCY": "3", "UNSTRACT_ADAPTER_SLOT_LEASE_SECONDS": "5"})
    assert (settings.file_concurrency, settings.adapter_slot_lease_seconds) == (3, 5)
    assert read_settings({}).file_concurrency == 8 and read_settings({}).adapter_slot_wait_seconds == 3600
    try:
        read_settings({"UNSTRACT_FILE_CONCURRENCY": "0"})
    except ConfigError as exc:
        assert "UNSTRACT_FILE_CONCURRENCY" in str(exc)
    else:
        raise AssertionError("0 lanes accepted")
