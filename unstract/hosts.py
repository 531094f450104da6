"""Which `Host` a request may name, and the absolute URLs built from it (docs/API.md, Hosts and absolute URLs).

Absolute URLs (pagination links, the API base shown on the keys page) start with UNSTRACT_EXTERNAL_URL when it
is set; otherwise with the request's own host, which must then be one of UNSTRACT_TRUSTED_HOSTS (by default the
listen host, `localhost` and `127.0.0.1`). Any other `Host` is refused with 400 `bad_host` before a view runs,
so a forged header can never end up in a link. Every absolute URL is built here.
"""

from __future__ import annotations

import re

from flask import Flask, current_app, request

from unstract import errors
from unstract.config import Settings

LOOPBACK_NAMES = ("localhost", "127.0.0.1")
# Build no link and are probed or scraped by address (a container's IP), so any Host may ask them
# (/metrics keeps its own optional token).
ANY_HOST_PATHS = frozenset({"/healthz", "/metrics"})
# A host name or bracketed IPv6 address, then an optional port.
HOST_AND_PORT = re.compile(r"(\[[^\]]*\]|[^:\[\]]*)(?::([0-9]{1,5}))?")


def trusted_hosts(settings: Settings) -> tuple[str, ...] | None:
    """The hosts a request may name; None when any is accepted (links then come from the external URL)."""
    if settings.trusted_hosts:
        return tuple(settings.trusted_hosts)
    if settings.external_url:
        return None
    listen_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return (listen_host, *LOOPBACK_NAMES)


def split_host(host: str) -> tuple[str, str | None] | None:
    """(name in lower case, port or None) of `name[:port]`; None when it is not of that form."""
    match = HOST_AND_PORT.fullmatch(host.strip().lower())
    if match is None or not match.group(1):
        return None
    return match.group(1), match.group(2)


def host_is_trusted(host: str, trusted: tuple[str, ...] | None) -> bool:
    """An entry with a port matches that host and port; an entry without one matches the name on any port."""
    if trusted is None:
        return True
    named = split_host(host)
    if named is None:
        return False
    for entry in trusted:
        wanted = split_host(entry)
        if wanted is not None and wanted[0] == named[0] and wanted[1] in (None, named[1]):
            return True
    return False


def require_trusted_host() -> None:
    """400 bad_host unless the request's `Host` may appear in links (or the external URL makes it irrelevant)."""
    if not host_is_trusted(request.host, trusted_hosts(current_app.config["UNSTRACT_SETTINGS"])):
        raise errors.BadHost(request.host)


def external_base() -> str:
    """Scheme, host and any path prefix that absolute URLs start with, without a trailing slash."""
    settings: Settings = current_app.config["UNSTRACT_SETTINGS"]
    if settings.external_url:
        return settings.external_url
    require_trusted_host()
    return request.url_root.rstrip("/")


def absolute_url(path: str) -> str:
    """`path` (from the application's root, starting with `/`) as an absolute URL."""
    return external_base() + path


def register_host_check(app: Flask) -> None:
    """Checked first, before authentication: a bad Host is refused the same way on every route."""

    @app.before_request
    def _check_host():
        if request.path not in ANY_HOST_PATHS:
            require_trusted_host()
