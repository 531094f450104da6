"""A child process ends when its parent does, so a killed `unstract serve` leaves nothing behind.

Two mechanisms, because either alone has a gap:
- Linux's PR_SET_PDEATHSIG makes the kernel signal the child the moment its parent dies, even when the
  child is busy in C code or is not Python at all (the embedded redis-server).
- A watcher thread polls os.getppid(): it covers systems without prctl and, in every case, kills the
  child if it has not finished stopping `grace` seconds later.

The kernel's "parent" is the *thread* that started the child, so a Python child receives the death
signal as a notice (SIGHUP) and acts only when its parent process has really gone: a child started from
a thread that ends later (serve's worker supervisor) is not stopped by that thread's end.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

STOP_GRACE_SECONDS = 30  # a stopping worker may finish its job this long before it is killed
WATCH_INTERVAL_SECONDS = 0.5
NOTICE_SIGNAL = signal.SIGHUP  # serve's children have no terminal to send it; one with a live parent is ignored
_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _load_prctl()  # looked up at import: a preexec_fn must not load libraries after fork


def set_parent_death_signal(signum: int) -> bool:
    """Ask the kernel to send `signum` when the parent dies; False where that is not available."""
    return _prctl is not None and _prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0


def end_with(parent_pid: int, signum: int = signal.SIGKILL) -> None:
    """At a child's start: `signum` when `parent_pid`, our parent, dies (Linux only); exit at once if it
    already has. For a child that may be stuck where no handler or thread runs (a tool in C code)."""
    set_parent_death_signal(signum)
    if os.getppid() != parent_pid:
        os._exit(1)


def die_with_parent(signum: int = signal.SIGTERM) -> Callable[[], None]:
    """A Popen preexec_fn for a non-Python child: `signum` when this process dies.

    Runs between fork and exec, so it only calls prctl and compares pids.
    """
    parent_pid = os.getpid()
    return lambda: end_with(parent_pid, signum)


def follow_parent(parent_pid: int, on_parent_death: Callable[[], None],
                  grace: float = STOP_GRACE_SECONDS) -> threading.Thread:
    """Call `on_parent_death` once when `parent_pid` stops being our parent; SIGKILL us `grace` s later.

    Call from the main thread (it installs a signal handler). `on_parent_death` runs in the signal
    handler or in the watcher thread, whichever notices first, so it should only request a stop.
    """
    fired = threading.Lock()

    def parent_gone() -> bool:
        return os.getppid() != parent_pid

    def react() -> None:
        if fired.acquire(blocking=False):  # once, whoever notices first
            # The deadline first: a stop request may run a signal handler before this function returns.
            threading.Thread(target=_kill_self_after, args=(grace,), name="lifeline-grace", daemon=True).start()
            on_parent_death()

    def on_notice(_signum, _frame) -> None:
        if parent_gone():
            react()

    def watch() -> None:
        while not parent_gone():
            time.sleep(WATCH_INTERVAL_SECONDS)
        react()

    signal.signal(NOTICE_SIGNAL, on_notice)
    set_parent_death_signal(NOTICE_SIGNAL)
    watcher = threading.Thread(target=watch, name="lifeline", daemon=True)
    watcher.start()
    return watcher


def stop_self(signum: int = signal.SIGTERM) -> Callable[[], None]:
    """An `on_parent_death` that asks this process to stop as SIGTERM (or `signum`) would."""
    return lambda: os.kill(os.getpid(), signum)


def _kill_self_after(grace: float) -> None:
    time.sleep(grace)
    os.kill(os.getpid(), signal.SIGKILL)
