"""An adapter's `max_concurrency` across every worker and machine: call slots leased in Redis
(docs/EXECUTION.md, Throughput).

Each adapter has a sorted set `unstract:adapter-slots:<id>` whose members are the slots in use, scored by
the time their lease ends (Redis's own clock, so machines need not agree on the time). Taking slots first
drops the expired ones: a slot held by a killed worker comes back after one lease. The holder renews its
slots while the call runs and removes them when it ends, pushing one wake-up per freed slot on
`<key>:freed`, which is what waiting files block on (with a short timeout, as a lost wake-up only costs
that timeout)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from redis import Redis

KEY_PREFIX = "unstract:adapter-slots:"

# KEYS: the set. ARGV: limit, lease ms, then one token per slot wanted. Takes as many as are free, up
# to the tokens given; returns the tokens taken (none when the adapter is at its limit).
_TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local limit, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
local free = limit - redis.call('ZCARD', KEYS[1])
local taken = {}
for i = 3, #ARGV do
  if #taken >= free then break end
  redis.call('ZADD', KEYS[1], now_ms + lease, ARGV[i])
  taken[#taken + 1] = ARGV[i]
end
if #taken > 0 then redis.call('PEXPIRE', KEYS[1], lease * 2) end
return taken
"""

# KEYS: the set. ARGV: lease ms, then the tokens. Only slots still held are pushed further (XX): a slot
# that expired meanwhile may be someone else's now.
_RENEW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local lease = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now_ms + lease, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], lease * 2)
return 1
"""

# KEYS: the set, its wake-up list. ARGV: the limit, then the tokens.
_GIVE_BACK = """
local removed = redis.call('ZREM', KEYS[1], unpack(ARGV, 2))
for _ = 1, removed do redis.call('LPUSH', KEYS[2], 1) end
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[1]) - 1)
redis.call('PEXPIRE', KEYS[2], 60000)
return removed
"""


def slots_key(adapter_id) -> str:
    return f"{KEY_PREFIX}{adapter_id}"


@dataclass
class Slots:
    """Call slots of one adapter held by one tool call."""

    connection: Redis
    adapter_id: str
    limit: int
    lease_seconds: float
    tokens: list[str]

    @property
    def key(self) -> str:
        return slots_key(self.adapter_id)

    def renew(self) -> None:
        self.connection.eval(_RENEW, 1, self.key, int(self.lease_seconds * 1000), *self.tokens)

    def give_back(self) -> None:
        self.connection.eval(_GIVE_BACK, 2, self.key, f"{self.key}:freed", self.limit, *self.tokens)


def try_take(connection: Redis, adapter_id, limit: int, wanted: int, lease_seconds: float) -> Slots | None:
    """Between 1 and `wanted` free slots at once, or None when the adapter has `limit` calls in flight."""
    tokens = [uuid.uuid4().hex for _ in range(max(1, min(wanted, limit)))]
    taken = connection.eval(_TAKE, 1, slots_key(adapter_id), limit, int(lease_seconds * 1000), *tokens)
    if not taken:
        return None
    return Slots(connection, str(adapter_id), limit, lease_seconds, [token.decode() for token in taken])


def wait_for_free_slot(connection: Redis, adapter_id, seconds: float) -> None:
    """Block until a slot of the adapter is given back, or `seconds` pass."""
    connection.blpop([f"{slots_key(adapter_id)}:freed"], timeout=seconds)


def slots_in_use(connection: Redis, adapter_id) -> int:
    """Unexpired slots of the adapter (for tests and operators)."""
    seconds, micros = connection.time()
    return connection.zcount(slots_key(adapter_id), f"({seconds * 1000 + micros // 1000}", "+inf")
