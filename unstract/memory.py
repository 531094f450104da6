"""Giving freed memory back to the system after a request that moved a lot of it.

A huge body (a 30 MB configuration refused with 400, a 50 MB upload, a multi-megabyte result) is freed
when its request ends, but glibc's malloc keeps the freed pages, and each waitress thread allocates from
an arena of its own, whose leftovers a trim cannot fully return: without both measures below the web
process grows with every such request and stays there (docs/SECURITY.md, Bounded sizes, has the figures).
Elsewhere than glibc both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache

from flask import Flask, Response, request

log = logging.getLogger(__name__)

LARGE_REQUEST_BYTES = 1024 * 1024  # a request or response body from this size triggers a trim
WEB_MALLOC_ARENAS = 2
M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h


@cache
def _glibc_function(name: str):
    """A function of glibc, or None elsewhere (musl, macOS)."""
    library = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(library), name) if library else None
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> None:
    """Return the freed pages of every malloc arena to the system."""
    trim = _glibc_function("malloc_trim")
    if trim is not None:
        trim(0)


def limit_malloc_arenas(count: int = WEB_MALLOC_ARENAS) -> None:
    """At most `count` malloc arenas for the threads started after this call (the web server's)."""
    mallopt = _glibc_function("mallopt")
    if mallopt is not None:
        mallopt(M_ARENA_MAX, count)


def is_large(response: Response) -> bool:
    return max(request.content_length or 0, response.content_length or 0) >= LARGE_REQUEST_BYTES


def register_memory_release(app: Flask) -> None:
    """Trim after each large request, once its response is sent (the body is freed by then)."""

    @app.after_request
    def _trim_when_sent(response: Response) -> Response:
        if is_large(response):
            response.call_on_close(release_freed_memory)
        return response
