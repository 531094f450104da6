"""The delivery job (docs/API.md, Notifications): claim an attempt, POST it, record what the receiver said.

The request goes to the address webhook_targets checked after resolving the name (the URL's name stays
in the Host header and in TLS), redirects are not followed, every phase has the configured timeout, and
only the first RESPONSE_EXCERPT_BYTES of the answer are read.
"""

from __future__ import annotations

import functools
import logging
import ssl
import time
import uuid

import httpx

from unstract.extensions import db
from unstract.models import Delivery, Execution, Notification
from unstract.services import deliveries, secrets, webhook_payloads, webhook_targets
from unstract.services.deliveries import Outcome
from unstract.worker.context import JobContext

log = logging.getLogger(__name__)

RESPONSE_EXCERPT_BYTES = 1024


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per worker process: building one loads the CA bundle, which costs more
    than the rest of an attempt (about 0.4 s of CPU here, against 4 ms for a client given this one)."""
    return httpx.create_ssl_context()


def lease_seconds(ctx: JobContext) -> float:
    """Longer than an attempt can take (connecting, sending, waiting for the answer's head: each bounded by
    the timeout; the excerpt read until one more timeout, plus its last read), so a slow attempt is never
    taken twice; a killed worker's attempt is taken again once it ends."""
    return 5 * ctx.settings.webhook_timeout_seconds + 5


def deliver(delivery_id: uuid.UUID, ctx: JobContext) -> None:
    taken = deliveries.claim(delivery_id, lease_seconds(ctx))
    if taken is None:
        return  # delivered, failed, not due yet, or another job holds this attempt
    delivery = db.session.get(Delivery, delivery_id)
    notification = db.session.get(Notification, delivery.notification_id) if delivery else None
    if notification is None:
        return  # deleted with its workflow while the attempt started
    request = _prepare(notification, delivery, ctx)
    url, max_retries = notification.url, notification.max_retries
    db.session.rollback()  # no transaction stays open across the network call
    outcome = request if isinstance(request, Outcome) else send(url, *request, ctx)
    status = deliveries.record(taken, outcome, max_retries, ctx.settings.webhook_retry_base_seconds)
    log.info("webhook delivery %s attempt %d: %s (%s)", delivery_id, taken.attempt,
             outcome.status_code or outcome.error, status)


def _prepare(notification: Notification, delivery: Delivery, ctx: JobContext) -> tuple[bytes, dict] | Outcome:
    execution = db.session.get(Execution, delivery.execution_id)
    if execution is None:
        return Outcome(error="The execution no longer exists.", permanent=True)
    try:
        secret = _opened(notification.secret, ctx.secret_key, "webhook secret")
        key = (_opened(notification.authorization_key, ctx.secret_key, "authorization key")
               if notification.authorization_key else None)
    except secrets.SecretUnreadable as exc:
        return Outcome(error=str(exc), permanent=True)
    raw = webhook_payloads.body(notification, delivery, execution)
    return raw, webhook_payloads.headers(notification, delivery, raw, secret, key)


def send(url: str, raw_body: bytes, headers: dict, ctx: JobContext) -> Outcome:
    """One POST; any failure becomes an Outcome (never an exception), so the attempt is always recorded."""
    settings = ctx.settings
    try:
        target = webhook_targets.parse(url)
        address = webhook_targets.address_to_connect(target, settings.webhook_allow_private_networks)
    except webhook_targets.TargetRefused as exc:
        return Outcome(error=str(exc))
    timeout = settings.webhook_timeout_seconds
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False,
                          verify=tls_context()) as client:
            request = client.build_request("POST", target.url_for(address), content=raw_body,
                                           headers={**headers, "Host": target.host_header}, extensions=extensions)
            response = client.send(request, stream=True)
            try:
                excerpt = _excerpt(response, time.monotonic() + timeout)
            finally:
                response.close()
    except httpx.TimeoutException:
        return Outcome(error=f"No answer within {timeout} s.")
    except httpx.HTTPError as exc:
        return Outcome(error=f"{exc.__class__.__name__}: {exc}"[:500])
    code = response.status_code
    error = None if 200 <= code < 300 else _status_error(response)
    return Outcome(status_code=code, error=error, response_body=excerpt)


def _status_error(response: httpx.Response) -> str:
    if response.is_redirect:
        return f"HTTP {response.status_code}: redirects are not followed."
    return f"HTTP {response.status_code}"


def _excerpt(response: httpx.Response, deadline: float) -> str:
    """The first RESPONSE_EXCERPT_BYTES of the body as sent (no decompression), read until the deadline."""
    collected = b""
    try:
        for chunk in response.iter_raw():
            collected += chunk
            if len(collected) >= RESPONSE_EXCERPT_BYTES or time.monotonic() > deadline:
                break
    except httpx.HTTPError:
        pass  # the status is what counts; an unreadable body is kept as far as it came
    return collected[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace")


def _opened(token: str, secret_key: str, what: str) -> str:
    return secrets.open_value(token, secret_key, what, secrets.WEBHOOK_HKDF_INFO)
