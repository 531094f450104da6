"""The text of Word (DOCX) and Excel (XLSX, XLSM) files, with tables kept as rows (docs/EXECUTION.md, Tools).

A table row becomes one line with its cells joined by " | ", so a pattern can find a value next to its
label on the same line; a workbook's sheets are its pages, each headed by `Sheet: <name>`.
Both formats are ZIP archives: the archive is checked before parsing, so a small file that expands
to gigabytes is refused instead of filling the memory."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from typing import Any

from unstract.tools import ToolError
from unstract.tools.pages import NATIVE, Document, PageText, ReadOptions, reason

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSM_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.12"
OFFICE_TYPES = frozenset({DOCX_TYPE, XLSX_TYPE, XLSM_TYPE.lower()})  # the extractor compares lower-cased types
CELL_SEPARATOR = " | "
MAX_EXPANDED_BYTES = 512 * 1024 * 1024  # what the archive may unpack to; far above any real document


def read_office(source: bytes, kind: str, options: ReadOptions, max_chars: int) -> Document:
    """The document's text; stops reading once more than max_chars characters are gathered (the caller
    cuts the text and says so)."""
    label = "DOCX" if kind == DOCX_TYPE else "XLSX"
    _check_archive(source, label)
    try:
        if kind == DOCX_TYPE:
            return Document([PageText(1, NATIVE, read_docx(source, max_chars))], 1)
        return read_xlsx(source, options, max_chars)
    except ToolError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure of a damaged file fails only that file
        raise ToolError(f"Cannot read {label}: {reason(exc)}") from None


def _check_archive(source: bytes, label: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(source)) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ToolError(f"Cannot read {label}: not a valid {label} file ({reason(exc)})") from None
    if expanded > MAX_EXPANDED_BYTES:
        raise ToolError(f"Cannot read {label}: it expands to {expanded} bytes, more than {MAX_EXPANDED_BYTES}")


# --- Word ----------------------------------------------------------------------------------------

def read_docx(source: bytes, max_chars: int) -> str:
    """Paragraphs and tables in document order, one line each paragraph and each table row."""
    import docx  # imported when needed: the tool process starts without it

    document = docx.Document(io.BytesIO(source))
    return "\n".join(_bounded(_docx_lines(document.iter_inner_content()), max_chars))


def _docx_lines(blocks: Iterable[Any]) -> Iterator[str]:
    from docx.table import Table

    for block in blocks:
        if isinstance(block, Table):
            for row in block.rows:
                yield _row_line(_distinct_cells(row.cells))
        else:
            yield block.text


def _distinct_cells(cells: list[Any]) -> list[str]:
    """Each cell's text once: python-docx repeats a merged cell for every grid column it spans."""
    texts, previous = [], None
    for cell in cells:
        if previous is not None and cell._tc is previous:
            continue
        previous = cell._tc
        texts.append(cell.text)
    return texts


# --- Excel ---------------------------------------------------------------------------------------

def read_xlsx(source: bytes, options: ReadOptions, max_chars: int) -> Document:
    """One page per sheet (at most max_pages), headed by its name; each non-empty row one line."""
    import openpyxl  # imported when needed: the tool process starts without it

    workbook = openpyxl.load_workbook(io.BytesIO(source), read_only=True, data_only=True)
    try:
        sheets = workbook.worksheets
        pages, budget = [], max_chars
        for number, sheet in enumerate(sheets[: options.pages_to_read(len(sheets))], start=1):
            lines = [f"Sheet: {sheet.title}", *_bounded(_sheet_lines(sheet), budget)]
            text = "\n".join(lines)
            pages.append(PageText(number, NATIVE, text))
            budget -= len(text)
            if budget < 0:
                break
        return Document(pages, len(sheets))
    finally:
        workbook.close()


def _sheet_lines(sheet: Any) -> Iterator[str]:
    for row in sheet.iter_rows(values_only=True):
        cells = [_cell_text(value) for value in row]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            yield _row_line(cells)


def _cell_text(value: Any) -> str:
    """A cell as it reads: whole numbers without `.0`, dates as ISO dates, times and booleans as words."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


# --- Shared --------------------------------------------------------------------------------------

def _row_line(cells: list[str]) -> str:
    """One table row on one line; line breaks inside a cell become spaces."""
    return CELL_SEPARATOR.join(" ".join(cell.split()) for cell in cells)


def _bounded(lines: Iterable[str], max_chars: int) -> Iterator[str]:
    """The lines until they hold more than max_chars characters (one line past the limit, so the cut shows)."""
    total = 0
    for line in lines:
        yield line
        total += len(line) + 1
        if total > max_chars:
            return
