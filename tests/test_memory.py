"""unstract.memory: freed memory goes back to the system (docs/SECURITY.md, Bounded sizes)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from unstract.memory import _glibc_function, release_freed_memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and uses glibc")


def rss_mb() -> float:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024


def test_glibc_functions_are_found():
    assert _glibc_function("malloc_trim") is not None and _glibc_function("mallopt") is not None


def test_memory_freed_inside_the_heap_is_returned_by_the_trim():
    """Blocks of 100 KB (below the mmap threshold, so inside malloc's heap), each followed by a small block
    that stays: freeing the large ones leaves holes that malloc keeps, unless trimmed."""
    release_freed_memory()
    before = rss_mb()
    blocks, pins = [], []
    for _ in range(800):  # 80 MB
        blocks.append(bytearray(100_000))
        pins.append(bytearray(2000))
    held = rss_mb()
    blocks.clear()
    release_freed_memory()
    assert held - before > 60 and rss_mb() - before < 15, (before, held, rss_mb())
    assert len(pins) == 800
