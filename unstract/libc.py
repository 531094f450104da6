"""glibc's malloc controls through ctypes, for any process (no Flask): the web process (unstract/memory.py)
and the tool process (unstract/tools/host.py). Elsewhere than glibc (musl, macOS) they are no-ops."""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def glibc_function(name: str):
    """A function of glibc, or None elsewhere (musl, macOS)."""
    library = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(library), name) if library else None
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> None:
    """Return the freed pages of every malloc arena to the system."""
    trim = glibc_function("malloc_trim")
    if trim is not None:
        trim(0)
