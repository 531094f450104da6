"""Write the bundled demo documents of the first-start bootstrap; deterministic, so re-running changes no byte
(the scanned invoice is a JPEG inside a PDF: the same bytes for the same Pillow and libjpeg).

Run: python -m unstract.demo.make_samples [samples directory [invoices directory]]
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
INVOICES_DIR = Path(__file__).resolve().parent / "invoices"

INVOICE_PDF_LINES = [
    "ACME Supplies Ltd.",
    "Invoice Number: INV-1001",
    "Date: 2026-11-02",
    "Bill to: Example Corp",
    "Item: Office chairs (5)",
    "Total: $1,250.50",
]

INVOICE_TXT = """ACME Supplies Ltd.
Invoice Number: INV-1002
Date: 2026-11-15
Bill to: Example Corp

Item: Printer paper (20 boxes)
Total: 980.00
"""

MEETING_NOTES_MD = """# Weekly sync

- Reviewed the onboarding checklist.
- Agreed to move the retrospective to Thursday.
- Next steps: draft the Q1 roadmap and share it with the team.
"""


def _pdf_string(text: str) -> str:
    """A PDF literal string with its special characters escaped."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return f"({escaped})"


def _content_stream(lines: list[str]) -> bytes:
    """Page content drawing each line in 12 pt Helvetica, 18 pt apart, from the top left."""
    ops = ["BT", "/F1 12 Tf", "72 720 Td"]
    for index, line in enumerate(lines):
        if index:
            ops.append("0 -18 Td")
        ops.append(f"{_pdf_string(line)} Tj")
    ops.append("ET")
    return ("\n".join(ops) + "\n").encode("latin-1")


def _objects(pages: list[list[str]]) -> list[bytes]:
    """The PDF objects, numbered from 1: catalog, page tree, font, then a page and its content per page."""
    page_ids = [4 + 2 * index for index in range(len(pages))]
    kids = " ".join(f"{page_id} 0 R" for page_id in page_ids)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for page_id, lines in zip(page_ids, pages, strict=True):
        stream = _content_stream(lines)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_id + 1} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream")
    return objects


def build_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF with one page of text lines per entry of pages (xref offsets computed)."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(_objects(pages), start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, xref_at)
    return bytes(out)


def sample_files() -> dict[str, bytes]:
    """File name -> content of every demo sample."""
    return {
        "invoice-1001.pdf": build_pdf([INVOICE_PDF_LINES]),
        "invoice-1002.txt": INVOICE_TXT.encode("utf-8"),
        "meeting-notes.md": MEETING_NOTES_MD.encode("utf-8"),
    }


# --- The invoices of the "Invoice extraction" demo (an LLM extracts their fields) -----------------

INVOICE_2001_LINES = [
    "ACME Supplies Ltd., 12 Market Street, Springfield",
    "Invoice number: INV-2001",
    "Invoice date: 2 November 2026",
    "Vendor: ACME Supplies Ltd.",
    "Bill to: Example Corp",
    "Line items: description=Office chairs; quantity=5; amount=1000.00",
    "Line items: description=Desk lamps; quantity=5; amount=250.50",
    "Total: $1,250.50",
]

INVOICE_2002_TXT = """Globex Paper Co.
Invoice number: INV-2002
Invoice date: 15/11/2026
Vendor: Globex Paper Co.
Bill to: Example Corp

Line items: description=Printer paper (20 boxes); quantity=20; amount=980.00
Total: 980.00
"""

# The scanned invoice: an image-only PDF (no text layer), so its text comes from OCR.
SCANNED_INVOICE_LINES = [
    "Northwind Traders",
    "Invoice number: INV-2003",
    "Invoice date: 2026-11-20",
    "Vendor: Northwind Traders",
    "Line items: description=Coffee beans; quantity=12; amount=412.80",
    "Total: 412.80",
]
SCAN_DPI = 150


def scanned_pdf(lines: list[str]) -> bytes:
    """An A4 page as a flatbed scan gives it (greyish paper, dark text) saved as an image-only PDF."""
    from PIL import Image, ImageDraw, ImageFont  # only the sample writer needs Pillow's drawing

    image = Image.new("L", (1240, 1754), 250)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=34)
    for index, line in enumerate(lines):
        draw.text((110, 140 + 64 * index), line, font=font, fill=15)
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=SCAN_DPI)
    return buffer.getvalue()


def invoice_files() -> dict[str, bytes]:
    """File name -> content of every invoice of the "Invoice extraction" demo."""
    return {
        "invoice-2001.pdf": build_pdf([INVOICE_2001_LINES]),
        "invoice-2002.txt": INVOICE_2002_TXT.encode("utf-8"),
        "invoice-2003-scanned.pdf": scanned_pdf(SCANNED_INVOICE_LINES),
    }


def write_samples(target: Path = SAMPLES_DIR, files: dict[str, bytes] | None = None) -> list[Path]:
    """Write every sample (or `files`) into target and return the written paths."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in (sample_files() if files is None else files).items():
        path = target / name
        path.write_bytes(content)
        written.append(path)
    return written


if __name__ == "__main__":
    written_paths = write_samples(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES_DIR)
    written_paths += write_samples(Path(sys.argv[2]) if len(sys.argv) > 2 else INVOICES_DIR, invoice_files())
    for written_path in written_paths:
        print(written_path)
