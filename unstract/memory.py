"""Giving freed memory back to the system after a request that moved a lot of it.

A huge body (a 30 MB configuration refused with 400, a 50 MB upload, a multi-megabyte result) is freed
when its request ends, but glibc's malloc keeps the freed pages, and each waitress thread allocates from
an arena of its own, whose leftovers a trim cannot fully return: without the measures below the web
process grows with every such request and stays there (docs/SECURITY.md, Bounded sizes, has the figures).
Elsewhere than glibc both are no-ops.
"""

from __future__ import annotations

from flask import Flask, Response, request

from unstract.libc import glibc_function as _glibc_function
from unstract.libc import release_freed_memory

LARGE_REQUEST_BYTES = 1024 * 1024  # a request or response body from this size triggers a trim
WEB_MALLOC_ARENAS = 2
MMAP_FROM_BYTES = 1024 * 1024
M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # mallopt's parameter numbers in glibc's malloc.h


def tune_malloc_for_web() -> None:
    """At most WEB_MALLOC_ARENAS arenas for the threads started after this call (the web server's), and
    blocks from MMAP_FROM_BYTES always mapped on their own, so a freed request body goes back at once
    (glibc otherwise raises that threshold up to 32 MB after the first large block is freed)."""
    mallopt = _glibc_function("mallopt")
    if mallopt is not None:
        mallopt(M_ARENA_MAX, WEB_MALLOC_ARENAS)
        mallopt(M_MMAP_THRESHOLD, MMAP_FROM_BYTES)


def is_large(response: Response) -> bool:
    return max(request.content_length or 0, response.content_length or 0) >= LARGE_REQUEST_BYTES


def register_memory_release(app: Flask) -> None:
    """Trim after each large request, once its response is sent (the body is freed by then)."""

    @app.after_request
    def _trim_when_sent(response: Response) -> Response:
        if is_large(response):
            response.call_on_close(release_freed_memory)
        return response
