"""The tool process: `python -m unstract.tools.host FD PARENT_PID [concurrent]` serves tool calls over the
connection on FD.

It imports only the tools, so it starts fast and stays small; it exits when the worker's end of the
connection closes, including when the worker is killed, and a worker killed while a tool is stuck
takes the process along (Linux's parent-death signal).

By default it answers one call at a time. With `concurrent` (the process for I/O-bound tools, an LLM
call) each message is `(call id, call)`, each call is answered in a thread of its own, and each reply is
`(call id, reply)`, so the calls of several files wait on their services side by side."""

from __future__ import annotations

import sys
import threading
from multiprocessing.connection import Connection

from unstract.libc import release_freed_memory
from unstract.lifeline import end_with
from unstract.tools import ToolError, ToolLimits
from unstract.tools.registry import TOOLS

LARGE_SOURCE_BYTES = 1024 * 1024  # a source from this size, or any OCR, is followed by a trim


def answer(tool_id: str, source: bytes, mime_type: str, previous: dict | None, settings: dict,
           limits: ToolLimits) -> tuple:
    """("ok", ToolOutput), ("tool_error", message, usage or None, warnings) or ("internal_error", message):
    never raises.

    The limits come with each call from the worker's settings: this process reads no configuration."""
    try:
        return "ok", TOOLS[tool_id].run(source, mime_type, previous, settings, limits)
    except ToolError as exc:
        return "tool_error", str(exc), exc.usage, exc.warnings
    except Exception as exc:  # noqa: BLE001 - a bug in a tool fails the file, not the tool process
        return "internal_error", f"{type(exc).__name__}: {exc}"


def moved_much_memory(request: tuple, reply: tuple) -> bool:
    """A large source, OCR (page bitmaps, Tesseract's engine) or a failure part-way leaves freed memory
    that malloc keeps."""
    kind, value = reply[0], reply[1]
    if kind != "ok":
        return True
    return len(request[1]) >= LARGE_SOURCE_BYTES or bool(value.output.get("ocr_pages"))


def serve(connection: Connection) -> None:
    """Answer calls until the worker's end closes; after a call that moved much memory, give the freed
    memory back to the system once the reply is sent, so an idle tool process stays small."""
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        reply = answer(*request)
        connection.send(reply)
        if moved_much_memory(request, reply):
            del request, reply
            release_freed_memory()


def serve_concurrently(connection: Connection) -> None:
    """Answer each call in its own thread; replies go out whole, one at a time, in the order they end."""
    sending = threading.Lock()

    def answer_one(call_id: int, request: tuple) -> None:
        reply = answer(*request)
        with sending:
            try:
                connection.send((call_id, reply))
            except OSError:
                pass  # the worker went away; the process ends with the receiving loop

    while True:
        try:
            call_id, request = connection.recv()
        except (EOFError, OSError):
            return
        threading.Thread(target=answer_one, args=(call_id, request), daemon=True).start()


if __name__ == "__main__":
    end_with(int(sys.argv[2]))  # killed with its worker even while a tool is stuck holding the GIL
    channel = Connection(int(sys.argv[1]))
    if sys.argv[3:] == ["concurrent"]:
        serve_concurrently(channel)
    else:
        serve(channel)
