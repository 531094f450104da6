"""Real DOCX and XLSX files written with python-docx and openpyxl, for the tool and engine tests."""

from __future__ import annotations

import io
from datetime import date, datetime

import docx
import openpyxl

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def invoice_docx(total: str = "€ 3.553,82", due: str = "13/01/2027") -> bytes:
    """A German-style invoice: a heading, paragraphs, and an item table whose total row has a merged cell."""
    document = docx.Document()
    document.add_heading("Rechnung INV-7", level=1)
    document.add_paragraph("Kunde: ACME GmbH\nBerlin")
    table = document.add_table(rows=4, cols=3)
    rows = [["Artikel", "Menge", "Preis"], ["Widget,\nblue", "2", "€ 1.234,50"], ["Bolt", "10", "€ 1.084,82"],
            ["Total", "", total]]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    table.cell(3, 0).merge(table.cell(3, 1))
    document.add_paragraph(f"Due: {due}")
    return _saved(document)


def empty_docx() -> bytes:
    return _saved(docx.Document())


def invoices_xlsx() -> bytes:
    """Two sheets: typed cells (numbers, dates, a formula's cached value absent, booleans, gaps) and notes."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Invoices"
    sheet.append(["Invoice", "Amount", "Date", "Paid"])
    sheet.append(["INV-1", 1234.5, date(2026, 3, 12), True])
    sheet.append([])
    sheet.append(["INV-2", 10.0, datetime(2026, 3, 13, 9, 30), False, None, None])
    notes = workbook.create_sheet("Notes")
    notes["A1"] = "Call\nback"
    notes["C1"] = "later"
    return _saved(workbook)


def _saved(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
