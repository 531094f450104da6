"""An execution's results as one download: JSON, JSON Lines or CSV, streamed (docs/API.md, Results export).

Rows are read from the database in chunks of keys, and their results in batches bounded by their stored
size, so memory stays flat however many files the execution has. CSV needs its columns before its first
row: a first pass reads the results only to collect the flattened column names in order of first
appearance (memory grows with the number of distinct columns, not files), a second pass writes the rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterable, Iterator

from sqlalchemy import Connection, Engine, select

from unstract.extensions import db
from unstract.models import Execution, FileExecution, Status

FORMATS = {"json": "application/json", "jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
EXPORTED = (Status.COMPLETED, Status.ERROR)
KEY_CHUNK = 500  # file executions whose keys and sizes are read at once
BATCH_BYTES = 8 * 1024 * 1024  # stored result bytes read at once (a row larger than this is read alone)
FIXED_COLUMNS = ("file_name", "file_path", "file_execution_id", "status", "error")
RESULT_COLUMN = "result"  # the name of a result that is not an object, and the prefix that disambiguates
FORMULA_STARTS = ("=", "+", "-", "@")
LIST_SEPARATOR = "; "
UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f"\\/;]')


# --- Reading ---------------------------------------------------------------------------------------

def export_items(engine: Engine, execution_id: uuid.UUID) -> Iterator[dict]:
    """Each exported file execution as {file_name, file_path, file_execution_id, status, result, error}, in
    file order: the files that ended COMPLETED or ERROR. Reads through a connection of its own, so a
    response can stream it after the request's context is gone."""
    with engine.connect() as connection:
        for keys in _key_chunks(connection, execution_id):
            for batch in _size_batches(keys):
                yield from _items(connection, execution_id, batch)
            connection.rollback()  # no snapshot is held between chunks


def _key_chunks(connection: Connection, execution_id: uuid.UUID) -> Iterator[list[tuple[int, int]]]:
    """(file_number, result_size) of the exported files, KEY_CHUNK at a time, by keyset on file_number."""
    last = 0
    while True:
        rows = connection.execute(
            select(FileExecution.file_number, FileExecution.result_size)
            .where(FileExecution.execution_id == execution_id, FileExecution.status.in_(EXPORTED),
                   FileExecution.file_number > last)
            .order_by(FileExecution.file_number).limit(KEY_CHUNK)).all()
        if not rows:
            return
        yield [(row.file_number, row.result_size) for row in rows]
        last = rows[-1].file_number


def _size_batches(keys: list[tuple[int, int]]) -> Iterator[list[int]]:
    """File numbers in batches whose stored results add up to at most BATCH_BYTES (or one row)."""
    batch, size = [], 0
    for number, result_size in keys:
        if batch and size + result_size > BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(number)
        size += result_size
    if batch:
        yield batch


def _items(connection: Connection, execution_id: uuid.UUID, numbers: list[int]) -> list[dict]:
    rows = connection.execute(
        select(FileExecution.file_name, FileExecution.file_path, FileExecution.id, FileExecution.status,
               FileExecution.result, FileExecution.execution_error)
        .where(FileExecution.execution_id == execution_id, FileExecution.file_number.in_(numbers),
               FileExecution.status.in_(EXPORTED))
        .order_by(FileExecution.file_number)).all()
    return [{"file_name": row.file_name, "file_path": row.file_path, "file_execution_id": str(row.id),
             "status": row.status, "result": row.result, "error": row.execution_error} for row in rows]


# --- Formats ---------------------------------------------------------------------------------------

def stream(engine: Engine, execution_id: uuid.UUID, fmt: str) -> Iterator[str]:
    """The body of the download in `fmt`, piece by piece."""
    if fmt == "jsonl":
        return (_json(item) + "\n" for item in export_items(engine, execution_id))
    if fmt == "csv":
        return _csv(engine, execution_id)
    return _json_array(export_items(engine, execution_id))


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_array(items: Iterable[dict]) -> Iterator[str]:
    yield "["
    for index, item in enumerate(items):
        yield ("," if index else "") + _json(item)
    yield "]"


def _csv(engine: Engine, execution_id: uuid.UUID) -> Iterator[str]:
    columns: dict[str, None] = {}
    for item in export_items(engine, execution_id):  # first pass: the columns, in order of first appearance
        columns.update(dict.fromkeys(flatten(item["result"])))
    header = list(FIXED_COLUMNS) + list(columns)
    yield _csv_line(header)
    for item in export_items(engine, execution_id):
        leaves = flatten(item["result"])
        fixed = [item["file_name"], item["file_path"], item["file_execution_id"], item["status"], item["error"]]
        yield _csv_line(fixed + [leaves.get(name) for name in columns])


def _csv_line(values: list) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([safe_cell(cell_text(value)) for value in values])
    return out.getvalue()


def flatten(result) -> dict[str, object]:
    """The leaves of a result by dotted path (`output.line_items.0.amount`), in document order; a list of
    scalars is one leaf (joined later), a list holding objects or lists is indexed, an empty object is a
    leaf. A result that is not an object is walked under the name `result` (`result`, `result.0.amount`);
    a top-level key named like a fixed column or `result` is prefixed with `result.`, so no column name
    repeats and none can be mistaken for another."""
    leaves: dict[str, object] = {}

    def walk(value, path: str) -> None:
        if isinstance(value, dict) and value:
            for key, child in value.items():
                walk(child, f"{path}.{key}")
        elif isinstance(value, list) and not _scalars_only(value):
            for index, child in enumerate(value):
                walk(child, f"{path}.{index}")
        else:
            leaves[path] = value

    if isinstance(result, dict):
        for key, child in result.items():
            walk(child, _top_level_name(str(key)))
    elif result is not None:
        walk(result, RESULT_COLUMN)
    return leaves


def _top_level_name(key: str) -> str:
    return f"{RESULT_COLUMN}.{key}" if key in FIXED_COLUMNS or key == RESULT_COLUMN else key


def _scalars_only(values: list) -> bool:
    return not any(isinstance(item, (dict, list)) for item in values)


def cell_text(value) -> str:
    """A leaf as CSV text: null empty, booleans as JSON, lists of scalars joined with '; ', anything else
    that is not a scalar (an empty object) as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list) and _scalars_only(value):
        return LIST_SEPARATOR.join(cell_text(item) for item in value)
    return _json(value)


def safe_cell(text: str) -> str:
    """A cell a spreadsheet would read as a formula is prefixed with `'`."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# --- Names -----------------------------------------------------------------------------------------

def download_name(workflow_name: str, execution: Execution, ext: str) -> str:
    return f"{workflow_name}-{execution.id}.{ext}"


def content_disposition(filename: str) -> str:
    """attachment with a quoted ASCII filename (unsafe characters as `_`) and, when the name is not
    plain ASCII, the exact name as RFC 5987 `filename*`."""
    from urllib.parse import quote

    plain = UNSAFE_NAME.sub("_", filename)
    ascii_name = plain.encode("ascii", "replace").decode("ascii").replace("?", "_")
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


def file_result(execution_id: uuid.UUID, file_execution_id: uuid.UUID) -> FileExecution | None:
    """One file execution of the execution, with its result; None when it is not one of its files."""
    from sqlalchemy.orm import undefer

    return db.session.scalar(select(FileExecution).where(
        FileExecution.id == file_execution_id, FileExecution.execution_id == execution_id)
        .options(undefer(FileExecution.result)))
