"""Login throttling: after repeated failures for one email from one address, refuse for a while."""

from __future__ import annotations

import hashlib
import logging

from redis.exceptions import RedisError

from unstract.extensions import rq

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
log = logging.getLogger(__name__)


def _key(email: str, address: str) -> str:
    digest = hashlib.sha256(f"{email.strip().lower()}|{address}".encode()).hexdigest()
    return f"unstract:login-failures:{digest}"


def retry_after(email: str, address: str) -> int | None:
    """Seconds until the next attempt is allowed, or None when it is allowed now."""
    try:
        connection = rq.connection()
        failures = int(connection.get(_key(email, address)) or 0)
        return max(int(connection.ttl(_key(email, address))), 1) if failures >= MAX_FAILURES else None
    except RedisError:
        log.warning("login throttle unavailable (Redis); allowing the attempt")
        return None


def record_failure(email: str, address: str) -> None:
    try:
        with rq.connection().pipeline() as pipe:
            # The window starts at the first failure (SET NX keeps it; works on Redis 6 too).
            pipe.set(_key(email, address), 0, ex=WINDOW_SECONDS, nx=True)
            pipe.incr(_key(email, address))
            pipe.execute()
    except RedisError:
        log.warning("login throttle unavailable (Redis); failure not counted")


def clear(email: str, address: str) -> None:
    try:
        rq.connection().delete(_key(email, address))
    except RedisError:
        pass
