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


def _llm_settings(base_url: str) -> dict:
    adapter = {"model": "test-model", "api_key": "sk-test", "base_url": base_url, "timeout_seconds": 30,
               "max_retries": 0, "name": "Test LLM"}
    return {"adapter": adapter, "fields": [{"name": "invoice_number", "prompt": "The number", "type": "text"}]}


def _extract(runner, llm_server, text: str, timeout: float):
    source = f"{text}\nInvoice number: INV-1\n".encode()
    return runner.run("llm_extractor", source, "text/plain", None, _llm_settings(llm_server.base_url),
                      timeout=timeout, limits=LIMITS)


def _in_threads(calls):
    """Run the calls at once; each one's result or exception, in order."""
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            results[index] = exc

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_io_bound_calls_share_one_process_and_run_side_by_side(runner, llm_server):
    results = _in_threads([lambda: _extract(runner, llm_server, "[[llm:sleep=1]]", 30)] * 4)
    outputs = [getattr(result, "output", {"output": str(result)})["output"] for result in results]
    assert outputs == [{"invoice_number": "INV-1"}] * 4
    assert llm_server.stats()["peak_in_flight"] == 4
    assert len(runner.pids()) == 1 and runner._idle == []  # no process of its own per call


def test_a_hung_io_bound_call_is_cut_off_without_failing_the_calls_beside_it(runner, llm_server):
    _extract(runner, llm_server, "warm up", 30)
    first = runner._shared
    results = _in_threads([lambda: _extract(runner, llm_server, "[[llm:sleep=6]]", 1),
                           lambda: _extract(runner, llm_server, "[[llm:sleep=2]]", 30)])
    assert isinstance(results[0], ToolTimeout)
    assert results[1].output["output"] == {"invoice_number": "INV-1"}
    assert first._host._process.wait(timeout=10) is not None  # retired, then killed once alone with the hung call
    assert _extract(runner, llm_server, "next", 30).output["output"] == {"invoice_number": "INV-1"}
    assert runner._shared is not first
