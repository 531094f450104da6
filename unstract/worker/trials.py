"""Trying a workflow's tool step on a sample document, from the dashboard, without running the workflow.

The tools run in a tool process of their own (the engine's `unstract.tools.host`, through the same
ToolRunner), started for the trial and killed after it: a stuck OCR or LLM call is cut off at the time
bound and cannot hold a web process. Nothing is stored: no execution, no file history, no usage; the
sample's bytes live only in memory for the request, and the extracted text goes back to the page.

An LLM call of a trial holds one of its adapter's call slots, as a file's does, so trying prompts while
workflows run never takes the adapter past its `max_concurrency`. It waits at most
TRIAL_SLOT_WAIT_SECONDS for one: a person is waiting at the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from unstract.config import Settings
from unstract.jsonschemas import TOOL_SETTINGS, fill_defaults
from unstract.services import adapters
from unstract.tools import ToolError, ToolLimits
from unstract.tools.text_extractor import PAGE_SEPARATOR
from unstract.worker.slots import call_slots
from unstract.worker.toolrunner import ToolRunner

SAMPLE_MAX_BYTES = 20 * 1024 * 1024  # a sample is one document, not a batch
TRIAL_TIMEOUT_SECONDS = 180  # a page waits at most this long, whatever the engine's tool timeout
TRIAL_SLOT_WAIT_SECONDS = 30
TEXT_TOOL = "text_extractor"


@dataclass
class SampleText:
    """What text extraction found in a sample: the whole text and each page's part with its method."""

    text: str
    pages: list[dict[str, Any]]  # {"page", "method", "chars", "text"}
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class TrialResult:
    """An extraction on a sample: the tool's output ({"output", "metadata"}) or the error a file would get."""

    output: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def _timeout(settings: Settings) -> float:
    return float(min(settings.tool_timeout_seconds, TRIAL_TIMEOUT_SECONDS))


def _run(tool_id: str, source: bytes, mime_type: str, previous: dict | None, call_settings: dict,
         settings: Settings):
    """One tool call in a fresh tool process, killed afterwards (so nothing of the trial outlives it)."""
    runner = ToolRunner()
    try:
        return runner.run(tool_id, source, mime_type, previous, call_settings, timeout=_timeout(settings),
                          limits=ToolLimits(max_text_chars=settings.max_text_chars))
    finally:
        runner.close()


def split_pages(text: str, pages: list[dict], normalized: bool) -> list[dict]:
    """Each page's part of the text, from the per-page character counts the text extractor reports
    (pages are joined by a blank line, or by one space when whitespace is normalized)."""
    separator = " " if normalized else PAGE_SEPARATOR
    parts, position = [], 0
    for page in pages:
        chars = int(page.get("chars") or 0)
        parts.append({**page, "text": text[position:position + chars]})
        if chars or not normalized:
            position += chars + len(separator)
    return parts


def extract_text(source: bytes, mime_type: str, text_settings: dict, settings: Settings) -> SampleText:
    """The sample's text as the workflow's text extractor step (or its defaults) would read it."""
    filled = fill_defaults(dict(text_settings), TOOL_SETTINGS[TEXT_TOOL])
    if len(source) > SAMPLE_MAX_BYTES:
        return SampleText("", [], error=f"The sample is too large: {len(source)} bytes (limit {SAMPLE_MAX_BYTES}).")
    try:
        result = _run(TEXT_TOOL, source, mime_type, None, filled, settings)
    except ToolError as exc:
        return SampleText("", [], error=f"{TEXT_TOOL}: {exc}")
    text = result.output.get("text", "")
    pages = split_pages(text, result.output.get("pages") or [], bool(filled.get("normalize_whitespace")))
    return SampleText(text, pages, result.warnings)


def run_llm_extractor(org_id, metadata: dict, text: str, settings: Settings, secret_key: str | bytes) -> TrialResult:
    """The llm_extractor with these (checked, possibly unsaved) settings on the sample's text, as the
    engine runs it after a text extractor step."""
    try:
        call_settings = adapters.tool_call_settings(org_id, adapters.LLM_TOOL, metadata, secret_key)
        waiting = replace(settings, adapter_slot_wait_seconds=min(settings.adapter_slot_wait_seconds,
                                                                   TRIAL_SLOT_WAIT_SECONDS))
        with call_slots(adapters.LLM_TOOL, call_settings, waiting, check_stop=_nothing_stops_a_trial):
            result = _run(adapters.LLM_TOOL, b"", "text/plain", {"text": text}, call_settings, settings)
    except ToolError as exc:
        return TrialResult(None, error=f"{adapters.LLM_TOOL}: {exc}")
    return TrialResult(result.output, result.warnings)


def _nothing_stops_a_trial() -> None:
    """A trial has no execution to stop: its slot wait ends by the time bound only."""
