"""Tools run in a separate process, so a tool that hangs (even inside C code holding the GIL) can be
cut off after UNSTRACT_TOOL_TIMEOUT_SECONDS while the worker, its heartbeats and other files go on.

The process is `python -m unstract.tools.host`, spoken to over a socket pair: a call is one pickled
message each way (no executor threads or queues in between), and the process imports only the tools,
not the worker's Flask app."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection

from unstract.tools import ToolError, ToolLimits, ToolOutput


class ToolTimeout(ToolError):
    """The tool did not finish in time; its process was killed."""


class ToolProcess:
    """One running `unstract.tools.host` and our end of its connection."""

    def __init__(self) -> None:
        # The tool process is SIGKILLed when the thread starting it ends (Linux's parent-death signal,
        # see unstract.lifeline): in a worker that is its main thread, where jobs run.
        ours, theirs = socket.socketpair()
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "unstract.tools.host", str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        self._connection = Connection(ours.detach())

    def call(self, request: tuple, timeout: float) -> tuple:
        """The host's reply; ToolTimeout after `timeout` seconds; EOFError/OSError if it died."""
        self._connection.send(request)
        if not self._connection.poll(timeout):
            raise ToolTimeout(f"Timed out after {timeout:g} s.")
        return self._connection.recv()

    def kill(self) -> None:
        self._connection.close()
        self._process.kill()
        self._process.wait()


class ToolRunner:
    """One tool process per worker process, started on first use and replaced after a timeout or a crash."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: ToolProcess | None = None

    def run(self, tool_id: str, source: bytes, mime_type: str, previous: dict | None, settings: dict,
            timeout: float, limits: ToolLimits) -> ToolOutput:
        """The tool's output, or ToolError (its own, a timeout, an internal error, or a crash)."""
        with self._lock:
            if self._process is None:
                self._process = ToolProcess()
            try:
                request = (tool_id, source, mime_type, previous, settings, limits)
                kind, value, *usage = self._process.call(request, timeout)
            except ToolTimeout:
                self._discard()
                raise
            except (EOFError, OSError):
                self._discard()
                raise ToolError("The tool process crashed.") from None
        if kind == "ok":
            return value
        if kind == "tool_error":
            raise ToolError(value, usage=usage[0] if usage else None)
        raise ToolError(f"Internal error: {value}")

    def _discard(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()

    def close(self) -> None:
        with self._lock:
            self._discard()


_runner = ToolRunner()


def tool_runner() -> ToolRunner:
    """The process-wide runner (one tool process per worker process)."""
    return _runner
