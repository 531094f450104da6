"""`text_extractor`: the text of PDF, image, Word, Excel, text-like and HTML files, by page (docs/EXECUTION.md,
Text and OCR)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from unstract.jsonschemas import TOOL_SETTINGS, fill_defaults
from unstract.tools import ToolError, ToolLimits, ToolOutput
from unstract.tools.office import DOCX_TYPE, OFFICE_TYPES, read_office
from unstract.tools.pages import NATIVE, OCR, Document, PageText, ReadOptions, read_image, read_pdf

TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/csv", "application/json"})
PDF_TYPE = "application/pdf"
HTML_TYPE = "text/html"
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/tiff", "image/webp", "image/bmp", "image/gif"})
SUPPORTED_TYPES = TEXT_TYPES | IMAGE_TYPES | OFFICE_TYPES | {PDF_TYPE, HTML_TYPE}
PAGELESS_TYPES = TEXT_TYPES | {HTML_TYPE, DOCX_TYPE}  # one page, and no page count in the output
PAGE_SEPARATOR = "\n\n"


def run(
    source: bytes, mime_type: str, previous: dict[str, Any] | None, settings: dict[str, Any],
    limits: ToolLimits = ToolLimits(),
) -> ToolOutput:
    """Extract the text of source by MIME type, page by page, cut at limits.max_text_chars; previous is
    not used."""
    settings = fill_defaults(dict(settings), TOOL_SETTINGS["text_extractor"])
    kind = _base_type(mime_type)
    document = read_document(source, kind, mime_type, ReadOptions.from_settings(settings), limits.max_text_chars)
    texts = [page.text for page in document.pages]
    if settings["normalize_whitespace"]:
        texts = [normalize_whitespace(text) for text in texts]
    text, page_chars, cut_warnings = assemble(texts, settings["normalize_whitespace"], limits.max_text_chars)
    output = {
        "text": text,
        "mime_type": mime_type,
        "page_count": None if kind in PAGELESS_TYPES else document.page_count,
        "truncated": bool(cut_warnings),
        "pages": [{"page": page.page, "method": page.method, "chars": chars}
                  for page, chars in zip(document.pages, page_chars, strict=True)],
        "ocr_pages": sum(1 for page in document.pages if page.method == OCR),
    }
    warnings = [*_empty_text_warnings(text, kind, document, settings), *document.warnings, *cut_warnings]
    return ToolOutput(output, warnings, text=text)


def read_document(source: bytes, kind: str, mime_type: str, options: ReadOptions, max_chars: int) -> Document:
    """The pages of the file by its (base) MIME type; text-like files, HTML and DOCX are one native page,
    a workbook's sheets are its pages."""
    if kind == PDF_TYPE:
        return read_pdf(source, options)
    if kind in IMAGE_TYPES:
        return read_image(source, options)
    if kind in OFFICE_TYPES:
        return read_office(source, kind, options, max_chars)
    if kind == HTML_TYPE:
        return Document([PageText(1, NATIVE, extract_html(source))], 1)
    if kind in TEXT_TYPES:
        return Document([PageText(1, NATIVE, decode_text(source))], 1)
    raise ToolError(f"Unsupported file type for text extraction: {mime_type}")


def assemble(texts: list[str], normalized: bool, limit: int) -> tuple[str, list[int], list[str]]:
    """The pages' texts joined by a blank line and cut at `limit`, how many characters of each page that
    text holds, and the cut's warning.

    Normalized texts are joined by one space and empty pages leave no trace: the same text as
    normalizing the pages joined by a blank line."""
    separator = " " if normalized else PAGE_SEPARATOR
    kept = [text for text in texts if text or not normalized]
    joined = separator.join(kept)
    text, warnings = cut_text(joined, limit)
    chars, position = [], 0
    for page_text in texts:
        if not page_text and normalized:
            chars.append(0)
            continue
        chars.append(max(0, min(len(page_text), len(text) - position)))
        position += len(page_text) + len(separator)
    return text, chars, warnings


def _empty_text_warnings(text: str, kind: str, document: Document, settings: dict[str, Any]) -> list[str]:
    """When the file gave no text, say so and what would read it."""
    if text.strip():
        return []
    if kind not in (PDF_TYPE, *IMAGE_TYPES):
        return ["no text extracted: the file has no text."]
    ocr_pages = sum(1 for page in document.pages if page.method == OCR)
    if ocr_pages:
        return [f"no text extracted: OCR (language {settings['ocr_language']}, {settings['dpi']} dpi) "
                f"found no text on {ocr_pages} page(s)."]
    what = "the PDF has no text layer" if kind == PDF_TYPE else "an image has no text layer"
    return [f"no text extracted: {what}; mode ocr or auto would OCR it."]


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
