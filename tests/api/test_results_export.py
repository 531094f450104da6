"""Results export: GET workflow/execution/{id}/results/ and …/files/{fe}/result/ (docs/API.md, Results export)."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest

from tests.engine.harness import invoice_folder, run_jobs
from tests.factories import add_tool, configure, make_execution, make_file_execution, make_workflow
from unstract.services import results_export


@pytest.fixture
def private(world):
    return make_workflow(world.users["owner"], "acme", viewers=[world.users["viewer"]], workflow_name="Invoices")


@pytest.fixture
def mixed(private):
    """An execution with a completed file, a failed one, a stopped one (not exported) and hostile cells."""
    execution = make_execution(private, status="COMPLETED", total_files=4, successful_files=2, failed_files=1)
    make_file_execution(execution, status="COMPLETED", file_name="a.txt", result={
        "output": {"total": 12.5, "tags": ["x", "y"], "line_items": [{"amount": 1}, {"amount": 2, "sku": "=cmd"}]},
        "ok": True})
    make_file_execution(execution, status="ERROR", file_name="@b.txt", execution_error="-bad, \"quoted\"\nline")
    make_file_execution(execution, status="STOPPED", file_name="c.txt")
    make_file_execution(execution, status="COMPLETED", file_name="d.txt", result={"extra": "+1", "ok": False,
                                                                                   "output": {"total": -3}})
    return execution


def test_json_is_an_array_of_the_completed_and_failed_files_in_file_order(world, mixed):
    response = world.api("viewer").get(f"workflow/execution/{mixed.id}/results/")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Content-Disposition"] == f'attachment; filename="Invoices-{mixed.id}.json"'
    items = json.loads(response.get_data(as_text=True))
    assert [item["file_name"] for item in items] == ["a.txt", "@b.txt", "d.txt"]
    assert set(items[0]) == {"file_name", "file_path", "file_execution_id", "status", "result", "error"}
    assert (items[1]["status"], items[1]["result"], items[1]["error"]) == ("ERROR", None, "-bad, \"quoted\"\nline")


def test_jsonl_has_one_item_per_line(world, mixed):
    response = world.api("owner").get(f"workflow/execution/{mixed.id}/results/?format=jsonl")
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    assert response.headers["Content-Disposition"].endswith(f'-{mixed.id}.jsonl"')
    lines = response.get_data(as_text=True).splitlines()
    assert [json.loads(line)["file_name"] for line in lines] == ["a.txt", "@b.txt", "d.txt"]


def test_csv_flattens_in_order_of_first_appearance_and_defuses_formulas(world, mixed):
    response = world.api("owner").get(f"workflow/execution/{mixed.id}/results/?format=csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="Invoices-{mixed.id}.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    leaves = ["output.total", "output.tags", "output.line_items.0.amount", "output.line_items.1.amount",
              "output.line_items.1.sku", "ok", "extra"]
    assert rows[0][:5] == ["file_name", "file_path", "file_execution_id", "status", "error"]
    assert sorted(rows[0][5:]) == sorted(leaves)
    # Order of first appearance over the rows, keys in the order the database returns them (PostgreSQL's
    # JSONB keeps objects' keys in its own order; SQLite as written).
    stored = json.loads(world.api("owner").get(f"workflow/execution/{mixed.id}/results/").get_data(as_text=True))
    first_seen = dict.fromkeys(name for item in stored for name in results_export.flatten(item["result"]))
    assert rows[0][5:] == list(first_seen)
    assert rows[0][-1] == "extra"  # appears first in the last row only
    first, failed, last = (dict(zip(rows[0], row, strict=True)) for row in rows[1:])
    assert (first["output.tags"], first["output.line_items.1.sku"], first["ok"]) == ("x; y", "'=cmd", "true")
    assert (failed["file_name"], failed["error"], failed["output.total"]) == ("'@b.txt", "'-bad, \"quoted\"\nline", "")
    assert (last["extra"], last["output.total"], last["ok"]) == ("'+1", "'-3", "false")
    assert len(rows) == 4


def test_csv_column_names_never_repeat_and_no_cell_is_python_text(world, private):
    execution = make_execution(private, status="COMPLETED", total_files=4)
    make_file_execution(execution, status="COMPLETED", file_name="a.txt", result={
        "status": "=x", "error": "y", "result": {"file_name": 1}, "nested": [[1, 2], [3]], "empty": {}, "none": []})
    make_file_execution(execution, status="COMPLETED", file_name="b.txt", result=[{"a": 1, "b": [None, True]}, 2])
    make_file_execution(execution, status="COMPLETED", file_name="c.txt", result=["x", -1])
    make_file_execution(execution, status="COMPLETED", file_name="d.txt", result="@plain")
    response = world.api("owner").get(f"workflow/execution/{execution.id}/results/?format=csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header = rows[0]
    assert len(header) == len(set(header)), header
    assert sorted(header[5:]) == sorted(["result.status", "result.error", "result.result.file_name", "nested.0",
                                         "nested.1", "empty", "none", "result.0.a", "result.0.b", "result.1", "result"])
    a, b, c, d = (dict(zip(header, row, strict=True)) for row in rows[1:])
    assert (a["status"], a["result.status"], a["result.error"], a["result.result.file_name"]) == (
        "COMPLETED", "'=x", "y", "1")
    assert (a["nested.0"], a["nested.1"], a["empty"], a["none"]) == ("1; 2", "3", "{}", "")
    assert (b["result.0.a"], b["result.0.b"], b["result.1"], b["result"]) == ("1", "; true", "2", "")
    assert (c["result"], d["result"], c["result.0.a"]) == ("x; -1", "'@plain", "")
    cells = "".join(cell for row in rows for cell in row)
    assert "{'" not in cells and "[" not in cells and "None" not in cells and "True" not in cells


def test_unknown_format_is_invalid_choice(world, mixed):
    response = world.api("owner").get(f"workflow/execution/{mixed.id}/results/?format=xml")
    assert response.status_code == 400
    assert response.json["errors"] == [{"code": "invalid_choice", "detail": '"xml" is not a valid choice.',
                                        "attr": "format"}]


def test_results_are_visible_only_to_who_sees_the_workflow(world, mixed):
    for caller, org in (("member", "acme"), ("outsider", "other")):
        assert world.api(caller, org_id=org).get(f"workflow/execution/{mixed.id}/results/").status_code == 404
    assert world.api("owner").get(f"workflow/execution/{uuid.uuid4()}/results/?format=csv").status_code == 404


def test_one_file_result_is_a_json_download(world, mixed):
    from unstract.extensions import db
    from unstract.models import FileExecution

    files = db.session.scalars(db.select(FileExecution).where(FileExecution.execution_id == mixed.id)
                               .order_by(FileExecution.file_number)).all()
    response = world.api("viewer").get(f"workflow/execution/{mixed.id}/files/{files[0].id}/result/")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Content-Disposition"] == f'attachment; filename="a.txt-{files[0].id}.json"'
    assert response.json["output"]["total"] == 12.5
    assert world.api("viewer").get(f"workflow/execution/{mixed.id}/files/{files[1].id}/result/").json is None
    other = make_execution(mixed.workflow, status="COMPLETED")
    assert world.api("owner").get(f"workflow/execution/{other.id}/files/{files[0].id}/result/").status_code == 404
    assert world.api("outsider", org_id="other").get(
        f"workflow/execution/{mixed.id}/files/{files[0].id}/result/").status_code == 404


def test_names_that_are_not_plain_ascii_get_a_safe_filename_and_the_exact_one():
    header = results_export.content_disposition('Fäkturen "Q1"/x-1.csv')
    assert header == ('attachment; filename="F_kturen _Q1__x-1.csv"; '
                      "filename*=UTF-8''F%C3%A4kturen%20%22Q1%22%2Fx-1.csv")


def test_a_large_run_streams_every_file_in_chunks(app, world, storage_root, monkeypatch):
    """A real worker run of 300 files, exported with small chunks so every format crosses many of them."""
    connector = invoice_folder(storage_root, "acme", 300, name="{n:03d}.txt")
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Bulk")
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"], maxFiles=1000)
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "field_extractor", rules=[
        {"name": "invoice_number", "pattern": r"Invoice Number: (\S+)", "group": 1},
        {"name": "total", "pattern": r"Total: (\S+)", "group": 1, "type": "number"}])
    api = world.api("owner")
    execution_id = api.post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0}
                            ).json["execution_id"]
    run_jobs(app)
    monkeypatch.setattr(results_export, "KEY_CHUNK", 40)
    monkeypatch.setattr(results_export, "BATCH_BYTES", 500)
    items = json.loads(api.get(f"workflow/execution/{execution_id}/results/").get_data(as_text=True))
    assert len(items) == 300 and items[299]["result"] == {"invoice_number": "INV-299", "total": 299.5}
    assert [item["file_name"] for item in items] == [f"{n:03d}.txt" for n in range(300)]
    lines = api.get(f"workflow/execution/{execution_id}/results/?format=jsonl").get_data(as_text=True).splitlines()
    assert len(lines) == 300
    rows = list(csv.reader(io.StringIO(api.get(f"workflow/execution/{execution_id}/results/?format=csv")
                                       .get_data(as_text=True))))
    assert sorted(rows[0][5:]) == ["invoice_number", "total"] and len(rows) == 301
    first = dict(zip(rows[0], rows[1], strict=True))
    assert (first["file_name"], first["invoice_number"], first["total"]) == ("000.txt", "INV-0", "0.5")


def test_rows_are_read_lazily_a_chunk_at_a_time(world, private, monkeypatch):
    """Memory stays flat in the number of files: the stream holds one chunk of rows, read when it is reached."""
    from sqlalchemy import event

    from unstract.extensions import db

    execution = make_execution(private, status="COMPLETED")
    for n in range(12):
        make_file_execution(execution, status="COMPLETED", result={"n": n})
    monkeypatch.setattr(results_export, "KEY_CHUNK", 5)
    execution_id = execution.id
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        items = results_export.export_items(db.engine, execution_id)
        assert next(items)["result"] == {"n": 0}
        assert len(statements) == 2  # the first chunk's keys, then its results
        rest = list(items)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert [item["result"]["n"] for item in rest] == list(range(1, 12))
    assert len(statements) == 7  # three chunks of keys and results, and the empty fourth
