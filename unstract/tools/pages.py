"""The pages of PDFs and images as text: the PDF's text layer through pypdfium2, or OCR of the page
rendered by pypdfium2 or decoded by Pillow (docs/EXECUTION.md, Tools).

Pages are read one at a time and each bitmap is freed before the next page is rendered, so memory
stays that of one page whatever the page count."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pypdfium2 as pdfium
from PIL import Image, ImageOps

from unstract.tools import ToolError
from unstract.tools.ocr import Recognizer, grey

NATIVE, OCR, AUTO = "native", "ocr", "auto"
POINTS_PER_INCH = 72
# One page image at most: A4 at 600 dpi is 35 million pixels; bigger pages are rendered at a lower
# resolution, bigger images are refused, so a page never needs more than a few hundred MB.
MAX_PAGE_PIXELS = 64_000_000
# The raster formats Pillow may decode here (never one that runs an outside program, such as EPS).
IMAGE_FORMATS = ("PNG", "JPEG", "TIFF", "WEBP", "BMP", "DIB", "GIF")  # JPEG covers MPO
RECORDED_DPI_RANGE = (50, 2400)  # an image's recorded resolution outside this is a placeholder, not a scan's
_OBJECT_REPR = re.compile(r"\s*<[^<>]* object at 0x[0-9a-fA-F]+>")


@dataclass(frozen=True)
class ReadOptions:
    """How to read pages: the text extractor's settings with their defaults filled in."""

    mode: str
    language: str
    dpi: int
    min_chars: int
    max_pages: int | None

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> ReadOptions:
        max_pages = settings["max_pages"]
        return cls(mode=settings["mode"], language=settings["ocr_language"], dpi=int(settings["dpi"]),
                   min_chars=int(settings["ocr_min_chars"]), max_pages=None if max_pages is None else int(max_pages))

    def pages_to_read(self, page_count: int) -> int:
        return page_count if self.max_pages is None else min(self.max_pages, page_count)


@dataclass(frozen=True)
class PageText:
    """The text of one page (1-based) and how it was read."""

    page: int
    method: str
    text: str


@dataclass
class Document:
    """The pages read from a file, its page count and what a reader should know (WARN messages)."""

    pages: list[PageText]
    page_count: int
    warnings: list[str] = field(default_factory=list)


def reason(exc: BaseException) -> str:
    """A readable reason for an exception (its type name when it has no message), without the
    `<_io.BytesIO object at 0x…>` that some libraries put in theirs."""
    return _OBJECT_REPR.sub("", str(exc)).strip() or type(exc).__name__


def non_space_chars(text: str) -> int:
    return sum(1 for char in text if not char.isspace())


# --- PDF ----------------------------------------------------------------------------------------

def read_pdf(source: bytes, options: ReadOptions) -> Document:
    """Each page up to max_pages by the mode: its text layer, or OCR of the page rendered at dpi."""
    pdf = _open_pdf(source)
    try:
        document = Document([], len(pdf))
        with Recognizer(options.language) as recognizer:
            for index in range(options.pages_to_read(document.page_count)):
                document.pages.append(_read_pdf_page(pdf, index, options, recognizer, document.warnings))
        return document
    finally:
        pdf.close()


def _open_pdf(source: bytes) -> pdfium.PdfDocument:
    """The parsed PDF (an empty password opens owner-only encrypted files); ToolError when unreadable."""
    try:
        return pdfium.PdfDocument(source)
    except (pdfium.PdfiumError, ValueError, TypeError) as exc:
        raise ToolError(f"Cannot read PDF: {reason(exc)}") from exc


def _read_pdf_page(pdf: pdfium.PdfDocument, index: int, options: ReadOptions, recognizer: Recognizer,
                   warnings: list[str]) -> PageText:
    number = index + 1
    try:
        page = pdf[index]
    except (pdfium.PdfiumError, ValueError) as exc:
        raise ToolError(f"Cannot read PDF: page {number}: {reason(exc)}") from exc
    try:
        native = "" if options.mode == OCR else _text_layer(page)
        if not _needs_ocr(native, options):
            return PageText(number, NATIVE, native)
        return PageText(number, OCR, _recognize_pdf_page(page, number, options, recognizer, warnings))
    except pdfium.PdfiumError as exc:
        raise ToolError(f"Cannot read PDF: page {number}: {reason(exc)}") from exc
    finally:
        page.close()


def _needs_ocr(native: str, options: ReadOptions) -> bool:
    if options.mode == NATIVE:
        return False
    return options.mode == OCR or non_space_chars(native) < options.min_chars


def _text_layer(page: pdfium.PdfPage) -> str:
    """The page's text layer with `\\n` line ends (PDFium gives `\\r\\n`)."""
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
    finally:
        textpage.close()
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _recognize_pdf_page(page: pdfium.PdfPage, number: int, options: ReadOptions, recognizer: Recognizer,
                        warnings: list[str]) -> str:
    """OCR of the page rendered in grey at the options' dpi (lower when the page is huge)."""
    dpi = _render_dpi(page, options.dpi)
    if dpi < options.dpi:
        warnings.append(f"page {number} is too large to render at {options.dpi} dpi; OCR used {dpi} dpi.")
    bitmap = page.render(scale=dpi / POINTS_PER_INCH, grayscale=True)
    try:
        image = bitmap.to_pil()
        try:
            return recognizer.read(grey(image), dpi)
        finally:
            image.close()
    finally:
        bitmap.close()


def _render_dpi(page: pdfium.PdfPage, dpi: int) -> int:
    """dpi, lowered so the page's image has at most MAX_PAGE_PIXELS."""
    width, height = page.get_size()
    area_inches = max(width * height, 1.0) / POINTS_PER_INCH**2
    if area_inches * dpi * dpi <= MAX_PAGE_PIXELS:
        return dpi
    return max(1, math.floor(math.sqrt(MAX_PAGE_PIXELS / area_inches)))


# --- Images -------------------------------------------------------------------------------------

def read_image(source: bytes, options: ReadOptions) -> Document:
    """Each frame (the pages of a multi-page TIFF, the frames of a GIF) OCRed, unless the mode is native:
    an image has no text layer."""
    image = _open_image(source)
    try:
        document = Document([], getattr(image, "n_frames", 1))
        with Recognizer(options.language) as recognizer:
            for number, frame in _frames(image, options.pages_to_read(document.page_count)):
                text = "" if options.mode == NATIVE else recognizer.read(frame, _image_dpi(image, options.dpi))
                document.pages.append(PageText(number, NATIVE if options.mode == NATIVE else OCR, text))
                frame.close()
        return document
    finally:
        image.close()


def _open_image(source: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(source), formats=IMAGE_FORMATS)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ToolError(f"Cannot read image: {reason(exc)}") from exc


def _frames(image: Image.Image, count: int) -> Iterator[tuple[int, Image.Image]]:
    """(page number, 8-bit grey frame upright per its EXIF orientation), one decoded frame at a time."""
    for index in range(count):
        number = index + 1
        try:
            image.seek(index)
            _check_size(image, number)
            frame = grey(ImageOps.exif_transpose(image))
        except ToolError:
            raise
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
            raise ToolError(f"Cannot read image: {_frame_prefix(image, number)}{reason(exc)}") from exc
        yield number, frame


def _check_size(image: Image.Image, number: int) -> None:
    width, height = image.size
    if width * height > MAX_PAGE_PIXELS:
        raise ToolError(f"Cannot read image: {_frame_prefix(image, number)}{width}x{height} pixels is more than "
                        f"{MAX_PAGE_PIXELS:,} pixels.")


def _frame_prefix(image: Image.Image, number: int) -> str:
    return f"page {number}: " if getattr(image, "n_frames", 1) > 1 else ""


def _image_dpi(image: Image.Image, default: int) -> int:
    """The horizontal resolution the image records, when plausible; else the dpi setting."""
    recorded = image.info.get("dpi")
    try:
        value = round(float(recorded[0]))
    except (TypeError, ValueError, IndexError):
        return default
    low, high = RECORDED_DPI_RANGE
    return value if low <= value <= high else default
