"""Tools run in a separate process, so a tool that hangs (even inside C code holding the GIL) can be
cut off after UNSTRACT_TOOL_TIMEOUT_SECONDS while the worker, its heartbeats and other files go on."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

from unstract.tools import ToolError, ToolOutput


class ToolTimeout(ToolError):
    """The tool did not finish in time; its process was killed."""


def _run_tool(tool_id: str, source: bytes, mime_type: str, previous: dict | None, settings: dict) -> ToolOutput:
    from unstract.tools.registry import TOOLS

    return TOOLS[tool_id].run(source, mime_type, previous, settings)


class ToolRunner:
    """One tool process per worker, started on first use and replaced after a timeout or a crash."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn: the tool process never inherits the worker's threads, sockets or DB pool.
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            return self._pool

    def _discard(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
            pool.shutdown(wait=False, cancel_futures=True)

    def run(self, tool_id: str, source: bytes, mime_type: str, previous: dict | None, settings: dict,
            timeout: float) -> ToolOutput:
        """The tool's output, or ToolError (its own, a timeout, or a crash of the tool process)."""
        future = self._executor().submit(_run_tool, tool_id, source, mime_type, previous, settings)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            self._discard()
            raise ToolTimeout(f"Timed out after {timeout:g} s.") from None
        except BrokenProcessPool:
            self._discard()
            raise ToolError("The tool process crashed.") from None

    def close(self) -> None:
        self._discard()


_runner = ToolRunner()


def tool_runner() -> ToolRunner:
    """The process-wide runner (one tool process per worker process)."""
    return _runner
