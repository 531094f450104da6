"""Holding an adapter's call slots around an LLM tool call (docs/EXECUTION.md, Throughput).

A file whose adapter has `max_concurrency` calls in flight, on any worker, waits here for a slot: it
keeps its claim and lease, is woken when a slot is given back, checks for a stop about once a second,
and gives up only after UNSTRACT_ADAPTER_SLOT_WAIT_SECONDS. The slots are renewed by the worker's lease
keeper while the call runs, so a killed worker's slots come back one slot lease later."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from redis.exceptions import RedisError

from unstract.config import Settings
from unstract.extensions import rq
from unstract.services import adapter_slots
from unstract.tools import IO_BOUND_TOOLS, ToolError
from unstract.tools.llm_extractor import ADAPTER_KEY, CALL_SLOTS_KEY
from unstract.worker.lease import renewing

log = logging.getLogger(__name__)

WAKE_UP_SECONDS = 1.0  # longest wait between two looks (a lost wake-up, a stop request, an expired slot)


def calls_at_once(settings: dict, limit: int) -> int:
    """Calls one run of the tool makes at the same time: one, or one per field in per_field mode."""
    if settings.get("mode") == "per_field":
        return max(1, min(len(settings.get("fields") or ()), limit))
    return 1


@contextmanager
def call_slots(tool_id: str, settings: dict, service: Settings, check_stop: Callable[[], None]) -> Iterator[None]:
    """Hold slots of the call's adapter while the block runs (nothing for a tool without an adapter).

    `settings` is the call's own copy: it gets the number of slots held, which bounds the tool's
    parallel calls within the file. `service` gives the slot lease and the longest wait; `check_stop`
    raises to end a wait."""
    adapter = settings.get(ADAPTER_KEY)
    if tool_id not in IO_BOUND_TOOLS or adapter is None:
        yield
        return
    limit = int(adapter.get("max_concurrency") or 1)
    slots = _take(str(settings["adapter_id"]), adapter.get("name") or "", limit, calls_at_once(settings, limit),
                  service, check_stop)
    settings[CALL_SLOTS_KEY] = len(slots.tokens)
    try:
        with renewing(slots.renew, slots.lease_seconds):
            yield
    finally:
        try:
            slots.give_back()
        except RedisError:
            pass  # they expire after one slot lease


def _take(adapter_id: str, name: str, limit: int, wanted: int, service: Settings,
          check_stop: Callable[[], None]) -> adapter_slots.Slots:
    connection = rq.connection()
    waited = service.adapter_slot_wait_seconds
    deadline = time.monotonic() + waited
    while True:
        try:
            slots = adapter_slots.try_take(connection, adapter_id, limit, wanted,
                                           service.adapter_slot_lease_seconds)
            if slots is not None:
                return slots
            pause = min(WAKE_UP_SECONDS, max(deadline - time.monotonic(), 0.01))
            adapter_slots.wait_for_free_slot(connection, adapter_id, pause)
        except RedisError as exc:  # Redis restarting: look again; the wait stays bounded
            log.warning("adapter slots unavailable (%s); waiting", exc.__class__.__name__)
            time.sleep(WAKE_UP_SECONDS)
        check_stop()
        if time.monotonic() >= deadline:
            raise ToolError(f"no call slot of adapter '{name}' came free within {waited} s "
                            f"(max_concurrency {limit}).")
