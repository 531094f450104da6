"""`text_extractor`: plain text out of PDF, text-like and HTML files (docs/EXECUTION.md, Tools)."""

from __future__ import annotations

import io
from html.parser import HTMLParser
from typing import Any

from pypdf import PdfReader

from unstract.tools import ToolError, ToolLimits, ToolOutput

TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/csv", "application/json"})
PDF_TYPE = "application/pdf"
HTML_TYPE = "text/html"
SUPPORTED_TYPES = TEXT_TYPES | {PDF_TYPE, HTML_TYPE}


def run(
    source: bytes, mime_type: str, previous: dict[str, Any] | None, settings: dict[str, Any],
    limits: ToolLimits = ToolLimits(),
) -> ToolOutput:
    """Extract the text of source by MIME type, cut at limits.max_text_chars; previous is not used."""
    kind = _base_type(mime_type)
    page_count: int | None = None
    if kind == PDF_TYPE:
        text, page_count = extract_pdf(source, settings.get("max_pages"))
    elif kind == HTML_TYPE:
        text = extract_html(source)
    elif kind in TEXT_TYPES:
        text = decode_text(source)
    else:
        raise ToolError(f"Unsupported file type for text extraction: {mime_type}")
    if settings.get("normalize_whitespace"):
        text = normalize_whitespace(text)
    text, warnings = cut_text(text, limits.max_text_chars)
    output = {"text": text, "mime_type": mime_type, "page_count": page_count, "truncated": bool(warnings)}
    return ToolOutput(output, warnings)


def cut_text(text: str, limit: int) -> tuple[str, list[str]]:
    """The text's first `limit` characters, and a warning when that cut anything."""
    if len(text) <= limit:
        return text, []
    return text[:limit], [f"text truncated to {limit} characters (of {len(text)})."]


def _base_type(mime_type: str) -> str:
    """MIME type without parameters, lower-cased (`text/plain; charset=x` -> `text/plain`)."""
    return mime_type.split(";", 1)[0].strip().lower()


def decode_text(source: bytes) -> str:
    """Decode UTF-8, dropping a leading BOM and replacing invalid bytes with U+FFFD."""
    return source.decode("utf-8-sig", errors="replace")


def normalize_whitespace(text: str) -> str:
    """Collapse each run of whitespace into one space and trim."""
    return " ".join(text.split())


def extract_pdf(source: bytes, max_pages: int | None) -> tuple[str, int]:
    """Text of the first max_pages pages joined by a blank line, and the PDF's page count."""
    try:
        reader = PdfReader(io.BytesIO(source))
        if reader.is_encrypted:
            reader.decrypt("")
        pages = reader.pages
        page_count = len(pages)
        limit = page_count if max_pages is None else min(int(max_pages), page_count)
        texts = [pages[index].extract_text() or "" for index in range(limit)]
    except Exception as exc:  # pypdf raises many unrelated types for broken files
        raise ToolError(f"Cannot read PDF: {_reason(exc)}") from exc
    return "\n\n".join(texts), page_count


def _reason(exc: Exception) -> str:
    """A readable reason for an exception, its type name when it has no message."""
    return str(exc).strip() or type(exc).__name__


class _TextCollector(HTMLParser):
    """Collects the text content of a document, skipping script and style elements."""

    SKIPPED = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Enter a skipped element."""
        if tag in self.SKIPPED:
            self._skip_depth += 1

    def handle_endtag(self, tag: str) -> None:
        """Leave a skipped element."""
        if tag in self.SKIPPED and self._skip_depth:
            self._skip_depth -= 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """A self-closing tag opens and closes nothing."""

    def handle_data(self, data: str) -> None:
        """Keep text outside skipped elements."""
        if not self._skip_depth:
            self.parts.append(data)


def extract_html(source: bytes) -> str:
    """Text content of an HTML document without script and style elements."""
    collector = _TextCollector()
    collector.feed(decode_text(source))
    collector.close()
    return "".join(collector.parts)
