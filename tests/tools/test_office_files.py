"""text_extractor on real Word and Excel files (docs/EXECUTION.md, Tools): tables kept as rows, sheets by
name, the limits, and damaged files failing with a reason."""

import io
import zipfile

import pytest

from tests.tools.office_files import DOCX_TYPE, XLSX_TYPE, empty_docx, invoice_docx, invoices_xlsx
from unstract.tools import ToolError, ToolLimits, field_extractor, text_extractor
from unstract.tools.office import XLSM_TYPE


def extract(source: bytes, mime_type: str, limits: ToolLimits = ToolLimits(), **settings):
    return text_extractor.run(source, mime_type, None, settings, limits)


def test_a_docx_reads_as_paragraphs_and_table_rows_in_document_order():
    result = extract(invoice_docx(), DOCX_TYPE)
    assert result.output["text"] == (
        "Rechnung INV-7\nKunde: ACME GmbH\nBerlin\n"
        "Artikel | Menge | Preis\nWidget, blue | 2 | € 1.234,50\nBolt | 10 | € 1.084,82\nTotal | € 3.553,82\n"
        "Due: 13/01/2027")
    assert result.output["page_count"] is None
    assert result.output["pages"] == [{"page": 1, "method": "native", "chars": len(result.output["text"])}]
    assert result.warnings == []


def test_an_xlsx_reads_sheet_by_sheet_one_line_per_row():
    result = extract(invoices_xlsx(), XLSX_TYPE)
    assert result.output["text"] == (
        "Sheet: Invoices\nInvoice | Amount | Date | Paid\nINV-1 | 1234.5 | 2026-03-12 | TRUE\n"
        "INV-2 | 10 | 2026-03-13 09:30:00 | FALSE"
        "\n\nSheet: Notes\nCall back |  | later")
    assert result.output["page_count"] == 2
    assert [page["page"] for page in result.output["pages"]] == [1, 2]


def test_an_xlsm_workbook_is_read_like_an_xlsx():
    assert extract(invoices_xlsx(), XLSM_TYPE).output["text"].startswith("Sheet: Invoices\n")


def test_max_pages_reads_the_first_sheets():
    output = extract(invoices_xlsx(), XLSX_TYPE, max_pages=1).output
    assert output["text"].endswith("FALSE") and "Notes" not in output["text"]
    assert output["page_count"] == 2


def test_a_long_document_is_cut_at_the_text_limit_with_a_warning():
    result = extract(invoice_docx(), DOCX_TYPE, ToolLimits(max_text_chars=30))
    assert result.output["text"] == "Rechnung INV-7\nKunde: ACME Gmb"
    assert result.output["truncated"] is True
    assert result.warnings[-1].startswith("text truncated to 30 characters")


def test_an_empty_document_warns_that_it_has_no_text():
    result = extract(empty_docx(), DOCX_TYPE)
    assert result.output["text"] == ""
    assert result.warnings == ["no text extracted: the file has no text."]


@pytest.mark.parametrize(("mime_type", "label"), [(DOCX_TYPE, "DOCX"), (XLSX_TYPE, "XLSX")])
def test_a_file_that_is_not_an_archive_fails_with_the_reason(mime_type, label):
    with pytest.raises(ToolError, match=f"^Cannot read {label}: not a valid {label} file"):
        extract(b"this is not a zip", mime_type)


def test_an_archive_without_the_document_fails_with_the_reason():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ToolError, match="^Cannot read DOCX: "):
        extract(buffer.getvalue(), DOCX_TYPE)


def test_an_archive_that_expands_too_far_is_refused_before_parsing(monkeypatch):
    from unstract.tools import office

    monkeypatch.setattr(office, "MAX_EXPANDED_BYTES", 1000)
    with pytest.raises(ToolError, match=r"^Cannot read XLSX: it expands to \d+ bytes, more than 1000$"):
        extract(invoices_xlsx(), XLSX_TYPE)


def test_the_field_extractor_finds_values_in_a_docx_table_row():
    rules = [{"name": "total", "pattern": r"^Total \| (.*)$", "group": 1, "type": "number"},
             {"name": "due", "pattern": r"^Due: (.*)$", "group": 1, "type": "date"}]
    result = field_extractor.run(invoice_docx(), DOCX_TYPE, None, {"rules": rules})
    assert result.output == {"total": 3553.82, "due": "2027-01-13"}
