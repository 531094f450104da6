"""The tool process (unstract.worker.toolrunner + unstract.tools.host): real child processes."""

from __future__ import annotations

import threading
import time

import pytest

from tests.tools.scans import has_words, scanned_pdf
from unstract.tools import ToolError, ToolLimits
from unstract.worker.toolrunner import ToolRunner, ToolTimeout

pytestmark = pytest.mark.slow

HANGING_RULES = {"rules": [{"name": "hang", "pattern": r"^(a+)+$", "group": 0}]}
LIMITS = ToolLimits()
TOTAL_RULES = {"rules": [{"name": "total", "pattern": r"Total: (\d+)", "group": 1, "type": "number"}]}


@pytest.fixture
def runner():
    tool_runner = ToolRunner()
    yield tool_runner
    tool_runner.close()


def host(runner: ToolRunner):
    """The one idle process of a runner used by one caller at a time."""
    (process,) = runner._idle
    return process


def host_pid(runner: ToolRunner) -> int:
    return host(runner).pid


def test_a_tool_runs_in_its_own_process_and_returns_its_output(runner):
    result = runner.run("field_extractor", b"Total: 42", "text/plain", None, TOTAL_RULES, timeout=30, limits=LIMITS)
    assert result.output == {"total": 42}
    first = host_pid(runner)
    runner.run("text_extractor", b"hello", "text/plain", None, {}, timeout=30, limits=LIMITS)
    assert host_pid(runner) == first  # one process serves every call


def test_a_tool_error_comes_back_as_tool_error(runner):
    with pytest.raises(ToolError, match="^Cannot read PDF: "):
        runner.run("text_extractor", b"%PDF-1.4 broken", "application/pdf", None, {}, timeout=30, limits=LIMITS)


def test_an_unexpected_exception_fails_the_call_not_the_process(runner):
    with pytest.raises(ToolError, match="^Internal error: KeyError: 'no_such_tool'$"):
        runner.run("no_such_tool", b"", "text/plain", None, {}, timeout=30, limits=LIMITS)
    first = host_pid(runner)
    assert runner.run("text_extractor", b"still here", "text/plain", None, {}, timeout=30, limits=LIMITS).output
    assert host_pid(runner) == first


def test_a_hanging_tool_is_killed_at_the_timeout_and_replaced(runner):
    runner.run("text_extractor", b"warm up", "text/plain", None, {}, timeout=30, limits=LIMITS)
    hung = host(runner)._process
    started = time.monotonic()
    with pytest.raises(ToolTimeout, match="^Timed out after 1 s.$"):
        runner.run("field_extractor", b"a" * 40 + b"!", "text/plain", None, HANGING_RULES, timeout=1, limits=LIMITS)
    assert time.monotonic() - started < 10
    assert hung.poll() is not None  # killed, not left running
    output = runner.run("text_extractor", b"next", "text/plain", None, {}, timeout=30, limits=LIMITS).output
    assert output["text"] == "next"


def test_a_crash_of_the_tool_process_fails_the_call_and_a_new_one_starts(runner):
    runner.run("text_extractor", b"warm up", "text/plain", None, {}, timeout=30, limits=LIMITS)
    victim = host(runner)._process
    threading.Timer(0.5, victim.kill).start()
    with pytest.raises(ToolError, match="^The tool process crashed.$"):
        runner.run("field_extractor", b"a" * 40 + b"!", "text/plain", None, HANGING_RULES, timeout=30, limits=LIMITS)
    output = runner.run("text_extractor", b"again", "text/plain", None, {}, timeout=30, limits=LIMITS).output
    assert output["text"] == "again"
    assert host_pid(runner) != victim.pid


def test_the_tool_process_exits_when_the_worker_side_closes(runner):
    runner.run("text_extractor", b"x", "text/plain", None, {}, timeout=30, limits=LIMITS)
    process = host(runner)._process
    host(runner)._connection.close()  # what the kernel does when the worker dies
    assert process.wait(timeout=10) == 0


def _memory_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(f"{key}:"))


def test_ocr_runs_in_the_tool_process_and_corrupt_scans_fail_only_their_call(runner):
    scan = scanned_pdf([["Invoice Number INV-2042", "Total due 1,234.56 EUR"]])
    output = runner.run("text_extractor", scan, "application/pdf", None, {}, timeout=120, limits=LIMITS).output
    assert has_words(output["text"], "invoice number inv-2042 total due") and output["ocr_pages"] == 1
    first = host_pid(runner)
    with pytest.raises(ToolError, match="^Cannot read image: "):
        runner.run("text_extractor", b"\x89PNG\r\n\x1a\nbroken", "image/png", None, {}, timeout=30, limits=LIMITS)
    with pytest.raises(ToolError, match="^Cannot read PDF: "):
        runner.run("text_extractor", scan[: len(scan) // 3], "application/pdf", None, {"mode": "ocr"},
                   timeout=30, limits=LIMITS)
    assert host_pid(runner) == first


def test_the_tool_process_gives_back_the_memory_of_an_ocr_call(runner):
    """Page bitmaps and Tesseract's engine are freed after the file; the process trims its heap so an
    idle tool process is not left at the size of its largest scan."""
    runner.run("text_extractor", b"warm up", "text/plain", None, {}, timeout=30, limits=LIMITS)
    pid = host_pid(runner)
    idle = _memory_kib(pid, "VmRSS")
    scan = scanned_pdf([["Invoice Number INV-2042"], ["Total due 1,234.56 EUR"]])
    runner.run("text_extractor", scan, "application/pdf", None, {"dpi": 300}, timeout=120, limits=LIMITS)
    runner.run("text_extractor", b"after", "text/plain", None, {}, timeout=30, limits=LIMITS)  # answered once trimmed
    peak, settled = _memory_kib(pid, "VmHWM"), _memory_kib(pid, "VmRSS")
    assert peak - idle > 50 * 1024 and settled - idle < 30 * 1024, (idle, peak, settled)
