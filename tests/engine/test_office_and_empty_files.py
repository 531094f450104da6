"""Word and Excel files, files the tools cannot read, and empty text, through a real worker and its tool
process (docs/EXECUTION.md, Tools): a DOCX invoice's table row gives the field extractor a correct euro
amount, .doc and .pptx files are skipped up front with one SOURCE WARN instead of failing one by one,
and a scan read without OCR logs a WARN that names the modes that would read it."""

from __future__ import annotations

import io
import uuid

from tests.engine.harness import run_jobs
from tests.factories import add_tool, configure, make_connector, make_workflow
from tests.tools.office_files import invoice_docx, invoices_xlsx
from tests.tools.scans import scanned_pdf
from unstract.extensions import db
from unstract.models import Execution, ExecutionLog, FileExecution

RULES = [{"name": "total", "pattern": r"^Total \| (.*)$", "group": 1, "type": "number"},
         {"name": "due", "pattern": r"^Due: (.*)$", "group": 1, "type": "date"},
         {"name": "amount", "pattern": r"^INV-1 \| ([^|]*) \|", "group": 1, "type": "number"}]


def _warnings(execution_id, file_execution_id=None):
    query = db.select(ExecutionLog).where(ExecutionLog.execution_id == execution_id,
                                          ExecutionLog.file_execution_id == file_execution_id)
    return [row.data["log"] for row in db.session.scalars(query.order_by(ExecutionLog.event_time, ExecutionLog.id))
            if row.data["level"] == "WARN"]


def test_office_files_unreadable_types_and_a_scan_without_ocr_through_a_worker(app, world, acme, storage_root):
    inbox = storage_root / "in"
    inbox.mkdir()
    (inbox / "invoice.docx").write_bytes(invoice_docx())
    (inbox / "ledger.xlsx").write_bytes(invoices_xlsx())
    (inbox / "scan.pdf").write_bytes(scanned_pdf([["Total due 99.00"]]))
    (inbox / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0 an old Word file")
    (inbox / "deck.pptx").write_bytes(b"PK not really")
    connector = make_connector(acme.id, "Local", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "text_extractor", mode="native")
    add_tool(workflow, "field_extractor", rules=RULES, locale="de-DE")

    response = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0})
    assert response.status_code == 202, response.json
    run_jobs(app)

    execution = db.session.get(Execution, uuid.UUID(response.json["execution_id"]))
    files = {f.file_name: f for f in db.session.scalars(db.select(FileExecution))}
    assert sorted(files) == ["invoice.docx", "ledger.xlsx", "scan.pdf"]
    assert (execution.successful_files, execution.failed_files) == (3, 0)
    assert files["invoice.docx"].result == {"total": 3553.82, "due": "2027-01-13", "amount": None}
    # a spreadsheet number is written with a point; with the German locale "1234.5" is not certain
    assert files["ledger.xlsx"].result == {"total": None, "due": None, "amount": None}
    assert _warnings(execution.id, files["ledger.xlsx"].id) == [
        "field_extractor: field 'amount' value '1234.5' is not a valid number: digit groups that are not thousands."]
    assert _warnings(execution.id, files["scan.pdf"].id) == [
        "text_extractor: no text extracted: the PDF has no text layer; mode ocr or auto would OCR it."]
    assert _warnings(execution.id) == [
        "Skipped 2 file(s) the tools cannot read (.doc, .pptx): save them as PDF, DOCX or XLSX to process them."]


def test_a_scan_given_only_to_the_field_extractor_still_warns_about_its_empty_text(app, world, acme):
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "API")
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "field_extractor", rules=RULES[:1])
    blank = scanned_pdf([[]])
    data = {"workflow_id": str(workflow.id), "timeout": "0", "files": [(io.BytesIO(blank), "blank.pdf")]}
    response = world.api("owner").post("workflow/execute/", data=data, content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    run_jobs(app)

    file = db.session.scalars(db.select(FileExecution)).one()
    assert file.result == {"total": None}
    assert _warnings(file.execution_id, file.id) == [
        "field_extractor: no text extracted: OCR (language eng, 300 dpi) found no text on 1 page(s)."]


def test_uploads_of_types_the_tools_cannot_read_are_refused_with_what_to_do(world, acme):
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "API")
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "text_extractor")
    files = [(io.BytesIO(b"x"), "a.docx"), (io.BytesIO(b"x"), "b.doc"), (io.BytesIO(b"x"), "c.xls"),
             (io.BytesIO(b"x"), "d.exe")]
    data = {"workflow_id": str(workflow.id), "timeout": "0", "files": files}
    response = world.api("owner").post("workflow/execute/", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.json["errors"] == [{
        "code": "unsupported_file_type", "attr": "files",
        "detail": "Unsupported file type: b.doc, c.xls, d.exe. The tools cannot read .doc, .xls files: "
                  "save them as PDF, DOCX or XLSX to process them."}]
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)) == 0
