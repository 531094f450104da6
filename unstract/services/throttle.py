"""Throttling of failed authentications: after too many failures of one kind from one source within a
window, refuse further attempts until the window ends. Counters live in Redis, so every web process
shares them (docs/SECURITY.md, Throttling).

A window starts at the first failure and is not extended by later ones. When Redis is unreachable the
attempt is allowed (and logged): an outage of the queue must not lock everybody out.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from redis.exceptions import RedisError

from unstract.extensions import rq

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """At most `max_failures` failures of `kind` per source within `window_seconds`."""

    kind: str
    max_failures: int
    window_seconds: int


# One e-mail from one address: guessing one account's password.
LOGIN_PER_ACCOUNT = Limit("login-account", 5, 15 * 60)
# One address across e-mails: trying one password on many accounts (spraying).
LOGIN_PER_ADDRESS = Limit("login-address", 20, 10 * 60)
# One address presenting bad API keys.
API_KEY_PER_ADDRESS = Limit("api-key-address", 30, 60)


def _key(limit: Limit, source: tuple[str, ...]) -> str:
    digest = hashlib.sha256("|".join(source).encode()).hexdigest()
    return f"unstract:failures:{limit.kind}:{digest}"


def account_source(email: str, address: str) -> tuple[str, str]:
    """The source of LOGIN_PER_ACCOUNT: the e-mail as the login form matches it, and the address."""
    return email.strip().lower(), address


def retry_after(limit: Limit, *source: str) -> int | None:
    """Seconds until the next attempt from `source` is allowed, or None when it is allowed now."""
    key = _key(limit, source)
    try:
        connection = rq.connection()
        with connection.pipeline() as pipe:
            failures, ttl = pipe.get(key).ttl(key).execute()
    except RedisError:
        log.warning("throttle %s unavailable (Redis); allowing the attempt", limit.kind)
        return None
    if int(failures or 0) < limit.max_failures:
        return None
    return max(int(ttl), 1)


def first_refusal(*checks: tuple[Limit, tuple[str, ...]]) -> int | None:
    """The longest wait among the limits that refuse now, or None when none does."""
    waits = [wait for limit, source in checks if (wait := retry_after(limit, *source))]
    return max(waits) if waits else None


def record_failure(limit: Limit, *source: str) -> None:
    key = _key(limit, source)
    try:
        with rq.connection().pipeline() as pipe:
            # The window starts at the first failure (SET NX keeps it; works on Redis 6 too).
            pipe.set(key, 0, ex=limit.window_seconds, nx=True)
            pipe.incr(key)
            pipe.execute()
    except RedisError:
        log.warning("throttle %s unavailable (Redis); failure not counted", limit.kind)


def clear(limit: Limit, *source: str) -> None:
    try:
        rq.connection().delete(_key(limit, source))
    except RedisError:
        pass


def count_call(kind: str, source: str, max_calls: int, window_seconds: int) -> int | None:
    """Count one call of `source` against a fixed window of `max_calls` per `window_seconds`, in the same
    Redis counters as the failure limits; returns the seconds until the window ends when this call is over
    the limit, else None. Allowed (and logged) when Redis is unreachable, like the failure limits."""
    key = _key(Limit(kind, max_calls, window_seconds), (source,))
    try:
        with rq.connection().pipeline() as pipe:
            pipe.set(key, 0, ex=window_seconds, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _, calls, ttl = pipe.execute()
    except RedisError:
        log.warning("rate limit %s unavailable (Redis); allowing the call", kind)
        return None
    if int(calls) <= max_calls:
        return None
    return max(int(ttl), 1)
