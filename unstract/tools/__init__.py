"""Built-in processing steps (docs/EXECUTION.md, Tools): pure functions of bytes and the previous step's output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ToolError(Exception):
    """A tool failed the file; the message is shown after the `<tool_id>: ` prefix."""


@dataclass
class ToolOutput:
    """What one tool step produced: its JSON output and WARN messages for the log."""

    output: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ToolLimits:
    """Bounds a tool applies to what it produces, sent with each call (UNSTRACT_MAX_TEXT_CHARS)."""

    max_text_chars: int = 2_000_000
