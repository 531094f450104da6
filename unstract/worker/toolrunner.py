"""Tools run in a separate process, so a tool that hangs (even inside C code holding the GIL) can be
cut off after UNSTRACT_TOOL_TIMEOUT_SECONDS while the worker, its heartbeats and other files go on.

The process is `python -m unstract.tools.host`, spoken to over a socket pair: a call is one pickled
message each way, and the process imports only the tools, not the worker's Flask app. A CPU-bound tool
has a process to itself for the call; I/O-bound tools (an LLM call) share one process that answers
many calls at once (docs/EXECUTION.md, Throughput)."""

from __future__ import annotations

import itertools
import os
import queue
import socket
import subprocess
import sys
import threading
from concurrent.futures import Future
from multiprocessing.connection import Connection

from unstract.tools import IO_BOUND_TOOLS, ToolError, ToolLimits, ToolOutput


class ToolTimeout(ToolError):
    """The tool did not finish in time; its process was killed."""


class _Starter:
    """Starts the tool processes from one thread that lasts as long as the worker process.

    A tool process is SIGKILLed when the *thread* that started it ends (Linux's parent-death signal, see
    unstract.lifeline), and the threads that use a process (a job's file lanes, callers sharing the
    I/O-bound process) may end before it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def popen(self, arguments: list[str], pass_fds: tuple[int, ...]) -> subprocess.Popen:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="tool-starter", daemon=True)
                self._thread.start()
        started: Future = Future()
        self._requests.put((arguments, pass_fds, started))
        return started.result()

    def _serve(self) -> None:
        while True:
            arguments, pass_fds, started = self._requests.get()
            try:
                started.set_result(subprocess.Popen(arguments, pass_fds=pass_fds, stdin=subprocess.DEVNULL))
            except BaseException as exc:  # noqa: BLE001 - the caller raises it
                started.set_exception(exc)


_starter = _Starter()


class ToolProcess:
    """One running `unstract.tools.host` and our end of its connection."""

    def __init__(self, *, concurrent: bool = False) -> None:
        ours, theirs = socket.socketpair()
        mode = ["concurrent"] if concurrent else []
        with theirs:
            self._process = _starter.popen(
                [sys.executable, "-m", "unstract.tools.host", str(theirs.fileno()), str(os.getpid()), *mode],
                pass_fds=(theirs.fileno(),))
        self._connection = Connection(ours.detach())

    @property
    def pid(self) -> int:
        return self._process.pid

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


class _Waiter:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.reply: tuple | None = None  # None once done: the process died


class SharedToolProcess:
    """A concurrent host (`unstract.tools.host ... concurrent`) serving the calls of many threads.

    A call that times out is abandoned and the process retired: new calls go to a new process, and the
    retired one is killed as soon as only abandoned calls are left in it, so a hung call is cut off
    without failing the calls that share its process."""

    def __init__(self) -> None:
        self._host = ToolProcess(concurrent=True)
        self._lock = threading.Lock()  # sending, and the tables below
        self._ids = itertools.count()
        self._waiting: dict[int, _Waiter] = {}
        self._abandoned: set[int] = set()
        self.retired = False
        self.dead = False
        threading.Thread(target=self._receive, name="tool-replies", daemon=True).start()

    @property
    def pid(self) -> int:
        return self._host.pid

    def call(self, request: tuple, timeout: float) -> tuple:
        waiter = _Waiter()
        with self._lock:
            if self.dead:
                raise EOFError("the tool process is gone")
            call_id = next(self._ids)
            self._waiting[call_id] = waiter
            self._host._connection.send((call_id, request))
        if not waiter.done.wait(timeout):
            with self._lock:
                if not waiter.done.is_set():
                    self._abandoned.add(call_id)
                    self.retired = True
                    self._kill_if_only_abandoned()
                    raise ToolTimeout(f"Timed out after {timeout:g} s.")
        if waiter.reply is None:
            raise EOFError("the tool process died")
        return waiter.reply

    def _receive(self) -> None:
        while True:
            try:
                call_id, reply = self._host._connection.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                waiter = self._waiting.pop(call_id, None)
                self._abandoned.discard(call_id)
                if waiter is not None:
                    waiter.reply = reply
                    waiter.done.set()
                self._kill_if_only_abandoned()
        with self._lock:
            self.dead = True
            for waiter in self._waiting.values():
                waiter.done.set()
            self._waiting.clear()
        self._host._connection.close()
        self._host._process.kill()
        self._host._process.wait()

    def _kill_if_only_abandoned(self) -> None:
        """Under the lock: a retired process whose remaining calls were all given up on is killed."""
        if self.retired and set(self._waiting) <= self._abandoned:
            self._host._process.kill()  # the receiving thread sees the end and cleans up

    def kill(self) -> None:
        self._host._process.kill()


class ToolRunner:
    """The tool processes of one worker process, started on first use and replaced after a timeout or a
    crash: for CPU-bound tools one process per call at a time, at most one per core (more would only
    share the cores and add memory; a call waits for a free one), kept for reuse; and one shared
    process for I/O-bound tools."""

    def __init__(self, cpu_bound_processes: int | None = None) -> None:
        self._lock = threading.Lock()
        self._idle: list[ToolProcess] = []
        self._shared: SharedToolProcess | None = None
        self._cpu_bound_turns = threading.BoundedSemaphore(cpu_bound_processes or os.cpu_count() or 1)

    def run(self, tool_id: str, source: bytes, mime_type: str, previous: dict | None, settings: dict,
            timeout: float, limits: ToolLimits) -> ToolOutput:
        """The tool's output, or ToolError (its own, a timeout, an internal error, or a crash)."""
        request = (tool_id, source, mime_type, previous, settings, limits)
        call = self._call_shared if tool_id in IO_BOUND_TOOLS else self._call_exclusive
        kind, value, *details = call(request, timeout)
        if kind == "ok":
            return value
        if kind == "tool_error":
            usage, warnings = details
            raise ToolError(value, usage=usage, warnings=warnings)
        raise ToolError(f"Internal error: {value}")

    def _call_exclusive(self, request: tuple, timeout: float) -> tuple:
        with self._cpu_bound_turns:
            return self._call_exclusive_now(request, timeout)

    def _call_exclusive_now(self, request: tuple, timeout: float) -> tuple:
        with self._lock:
            process = self._idle.pop() if self._idle else None
        if process is None:
            process = ToolProcess()
        try:
            reply = process.call(request, timeout)
        except ToolTimeout:
            process.kill()
            raise
        except (EOFError, OSError):
            process.kill()
            raise ToolError("The tool process crashed.") from None
        except BaseException:
            process.kill()  # its state is unknown
            raise
        with self._lock:
            self._idle.append(process)
        return reply

    def _call_shared(self, request: tuple, timeout: float) -> tuple:
        with self._lock:
            if self._shared is None or self._shared.retired or self._shared.dead:
                self._shared = SharedToolProcess()
            shared = self._shared
        try:
            return shared.call(request, timeout)
        except (EOFError, OSError):
            raise ToolError("The tool process crashed.") from None

    def pids(self) -> list[int]:
        """The tool processes alive now (idle CPU-bound ones and the shared one)."""
        with self._lock:
            pids = [process.pid for process in self._idle]
            if self._shared is not None and not self._shared.dead:
                pids.append(self._shared.pid)
            return pids

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            shared, self._shared = self._shared, None
        for process in idle:
            process.kill()
        if shared is not None:
            shared.kill()


_runner = ToolRunner()


def tool_runner() -> ToolRunner:
    """The process-wide runner."""
    return _runner
