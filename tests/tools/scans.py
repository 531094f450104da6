"""Documents for the OCR tests, made on the fly: known text drawn with Pillow's default font at a size a
scanner would give, saved as images or as image-only PDFs, and PDFs mixing text-layer and scanned pages."""

from __future__ import annotations

import io
import re

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont

SCAN_DPI = 150
A4_AT_SCAN_DPI = (1240, 1754)
FONT_PIXELS = 40  # about 19 pt at 150 dpi: body text of a letter


def text_image(lines: list[str], size: tuple[int, int] = A4_AT_SCAN_DPI, mode: str = "L") -> Image.Image:
    """A white page with each line drawn in black, 70 px apart, from the top left."""
    image = Image.new(mode, size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=FONT_PIXELS)
    for index, line in enumerate(lines):
        draw.text((100, 120 + 70 * index), line, font=font, fill="black")
    return image


def image_bytes(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def scanned_pdf(pages: list[list[str]]) -> bytes:
    """An image-only PDF: one scanned page per entry, no text layer."""
    images = [text_image(lines) for lines in pages]
    return image_bytes(images[0], "PDF", resolution=SCAN_DPI, save_all=True, append_images=images[1:])


def joined_pdf(parts: list[bytes]) -> bytes:
    """The pages of every PDF in parts, in order, as one PDF."""
    joined = pdfium.PdfDocument.new()
    try:
        for part in parts:
            source = pdfium.PdfDocument(part)
            joined.import_pages(source)
            source.close()
        buffer = io.BytesIO()
        joined.save(buffer)
        return buffer.getvalue()
    finally:
        joined.close()


def words(text: str) -> list[str]:
    """The words of a text, lower-cased, for comparisons that ignore case, layout and punctuation spacing."""
    return re.findall(r"[a-z0-9]+(?:[.,-][a-z0-9]+)*", text.lower())


def has_words(text: str, expected: str) -> bool:
    """Every word of `expected` appears in `text`, in order."""
    found = iter(words(text))
    return all(any(word == seen for seen in found) for word in words(expected))
