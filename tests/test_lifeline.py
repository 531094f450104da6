"""unstract.lifeline with real processes: a parent is SIGKILLed and its children must not outlive it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.serving import pid_alive

pytestmark = pytest.mark.slow

GONE_TIMEOUT = 15
CHILD_ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


# The child follows the pid given as argv[1] and then waits; its SIGTERM does what `stop_self` asks.
FOLLOWER = """
    import signal, sys, time
    from unstract import lifeline
    if sys.argv[2] == "no-prctl":
        lifeline._prctl = None  # what a system without PR_SET_PDEATHSIG has: only the watcher thread
    if sys.argv[3] == "ignore-stop":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    lifeline.follow_parent(int(sys.argv[1]), lifeline.stop_self(), grace=float(sys.argv[4]))
    print("following", flush=True)
    while True:
        time.sleep(1)
"""

# The parent starts the follower (from a short-lived thread when asked), prints its pid, then sleeps.
PARENT = """
    import os, subprocess, sys, threading, time
    child = []
    def spawn():
        child.append(subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid()), *sys.argv[2:]],
                                      stdout=subprocess.PIPE, text=True))
        child[0].stdout.readline()
    if sys.argv[-1] == "from-thread":
        thread = threading.Thread(target=spawn)
        thread.start()
        thread.join()  # the starting thread ends: the kernel's parent-death signal fires now
    else:
        spawn()
    print(child[0].pid, flush=True)
    time.sleep(300)
"""


def _start_family(*options: str) -> tuple[subprocess.Popen, int]:
    parent = subprocess.Popen(_python(PARENT) + [textwrap.dedent(FOLLOWER), *options], stdout=subprocess.PIPE,
                              text=True, env=CHILD_ENV)
    return parent, int(parent.stdout.readline())


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + GONE_TIMEOUT
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


def _kill(parent: subprocess.Popen, child: int) -> None:
    for pid in (parent.pid, child):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    parent.wait()


@pytest.mark.parametrize("mechanism", ["prctl", "no-prctl"])
def test_a_child_stops_when_its_parent_is_killed(mechanism):
    parent, child = _start_family(mechanism, "obey-stop", "30", "main-thread")
    try:
        assert pid_alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        assert _wait_gone(child)
    finally:
        _kill(parent, child)


def test_a_child_that_ignores_the_stop_request_is_killed_after_the_grace_period():
    parent, child = _start_family("prctl", "ignore-stop", "1", "main-thread")
    try:
        os.kill(parent.pid, signal.SIGKILL)
        assert _wait_gone(child)
    finally:
        _kill(parent, child)


def test_the_end_of_the_thread_that_started_a_child_does_not_stop_it():
    parent, child = _start_family("prctl", "obey-stop", "30", "from-thread")
    try:
        time.sleep(1.5)  # longer than the watcher's poll: had the notice been taken for a death, it is gone
        assert pid_alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        assert _wait_gone(child)
    finally:
        _kill(parent, child)


def test_a_non_python_child_started_with_die_with_parent_dies_with_its_parent():
    parent = subprocess.Popen(_python("""
        import subprocess, time
        from unstract.lifeline import die_with_parent
        child = subprocess.Popen(["sleep", "300"], preexec_fn=die_with_parent(), start_new_session=True)
        print(child.pid, flush=True)
        time.sleep(300)
    """), stdout=subprocess.PIPE, text=True, env=CHILD_ENV)
    child = int(parent.stdout.readline())
    try:
        assert pid_alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        assert _wait_gone(child)
    finally:
        _kill(parent, child)


def test_a_tool_process_stuck_in_a_tool_dies_with_its_sigkilled_worker():
    # The worker's stand-in starts the tool process and hands it a regex that backtracks for hours.
    parent = subprocess.Popen(_python("""
        import time
        from unstract.tools import ToolLimits
        from unstract.worker.toolrunner import ToolProcess
        tool = ToolProcess()
        tool._connection.send(("field_extractor", b"", "text/plain", {"text": "a" * 40 + "!"},
                               {"rules": [{"name": "slow", "pattern": "^(a+)+$", "group": 0}]}, ToolLimits()))
        print(tool._process.pid, flush=True)
        time.sleep(300)
    """), stdout=subprocess.PIPE, text=True, env=CHILD_ENV)
    child = int(parent.stdout.readline())
    try:
        time.sleep(1)  # the tool is running now, holding the GIL: no thread or handler of its own runs
        assert pid_alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        assert _wait_gone(child)
    finally:
        _kill(parent, child)
