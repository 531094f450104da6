"""Built-in processing steps (docs/EXECUTION.md, Tools): pure functions of bytes and the previous step's output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Tools that mostly wait on another service (an LLM call): a worker runs several files through them at
# once, and one tool process serves all of those calls side by side (docs/EXECUTION.md, Throughput).
IO_BOUND_TOOLS = frozenset({"llm_extractor"})


class ToolError(Exception):
    """A tool failed the file; the message is shown after the `<tool_id>: ` prefix.

    `usage` is the LLM usage the tool had when it failed (calls made are counted either way), `warnings`
    what it had to say before it failed (a cut input, a value it could not read): logged before the error."""

    def __init__(self, message: str, *, usage: dict[str, Any] | None = None,
                 warnings: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.usage = usage
        self.warnings = list(warnings)


@dataclass
class ToolOutput:
    """What one tool step produced: its JSON output and WARN messages for the log."""

    output: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    usage: dict[str, Any] | None = None  # an LLM tool's metadata: llm_calls, usage, cost_usd
    text: str | None = None  # the document text the step extracted or read (the file's extracted text)


@dataclass(frozen=True)
class ToolLimits:
    """Bounds a tool applies to what it produces, sent with each call (UNSTRACT_MAX_TEXT_CHARS)."""

    max_text_chars: int = 2_000_000
