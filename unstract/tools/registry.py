"""The built-in tools and the loading of a tool instance's settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from unstract.errors import FieldMessage
from unstract.jsonschemas import TOOL_SETTINGS, FieldError, load_document
from unstract.tools import ToolLimits, ToolOutput, field_extractor, llm_extractor, text_extractor

ToolRun = Callable[[bytes, str, dict[str, Any] | None, dict[str, Any], ToolLimits], ToolOutput]


@dataclass(frozen=True)
class ToolSpec:
    """A built-in tool: what GET tool/ shows, plus the function that runs it."""

    tool_id: str
    name: str
    description: str
    settings_schema: dict[str, Any]
    run: ToolRun

    def as_dict(self) -> dict[str, Any]:
        """The item of GET tool/."""
        return {
            "tool_id": self.tool_id,
            "name": self.name,
            "description": self.description,
            "settings_schema": self.settings_schema,
        }


TOOLS: dict[str, ToolSpec] = {
    "field_extractor": ToolSpec(
        tool_id="field_extractor",
        name="Field extractor",
        description="Finds named values in the text with regular expressions and converts them "
        "to strings, numbers or dates (an ambiguous number or date is left empty, with a warning).",
        settings_schema=TOOL_SETTINGS["field_extractor"],
        run=field_extractor.run,
    ),
    "llm_extractor": ToolSpec(
        tool_id="llm_extractor",
        name="LLM extractor",
        description="Extracts named, typed fields with an LLM through one of the organization's adapters.",
        settings_schema=TOOL_SETTINGS["llm_extractor"],
        run=llm_extractor.run,
    ),
    "text_extractor": ToolSpec(
        tool_id="text_extractor",
        name="Text extractor",
        description="Extracts the text of PDFs (their text layer, or OCR for scanned pages), images (OCR), "
        "Word (DOCX) and Excel (XLSX) files with tables as rows, HTML, text, Markdown, CSV and JSON files.",
        settings_schema=TOOL_SETTINGS["text_extractor"],
        run=text_extractor.run,
    ),
}


def load_tool_settings(tool_id: str, metadata: Any) -> tuple[dict[str, Any] | None, list[FieldMessage]]:
    """Fill defaults into and validate a tool instance's metadata; the filled settings when valid."""
    spec = TOOLS.get(tool_id)
    if spec is None:
        return None, [FieldError("tool_id", "invalid_choice", f'"{tool_id}" is not a valid choice.')]
    settings, errors = load_document(metadata, spec.settings_schema, "metadata")
    if settings is not None and tool_id == "field_extractor":
        errors = field_extractor.check_field_rules(settings["rules"])
    if settings is not None and tool_id == "llm_extractor":
        errors = llm_extractor.check_fields(settings["fields"])
        settings = llm_extractor.with_canonical_adapter_id(settings)
    if errors:
        return None, errors
    return settings, errors
