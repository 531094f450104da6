"""Scans through a real worker and its tool process: a folder of images and a scanned PDF picked by the
`Images` and `PDF documents` extension groups, OCRed, with the per-page methods in each result, a corrupt
image failing only its own file and an empty result logged as a WARN (docs/EXECUTION.md, Tools)."""

from __future__ import annotations

import uuid

from tests.engine.harness import run_jobs
from tests.factories import add_tool, configure, make_connector, make_workflow
from tests.tools.scans import has_words, image_bytes, scanned_pdf, text_image
from unstract.extensions import db
from unstract.models import Execution, ExecutionLog, FileExecution

INVOICE = ["Invoice Number INV-2042", "Total due 1,234.56 EUR"]
LETTER = ["Dear customer, thank you", "for your order of blue widgets"]


def test_images_and_scans_are_ocred_by_a_worker(app, world, acme, storage_root):
    inbox = storage_root / "in"
    inbox.mkdir()
    (inbox / "invoice.png").write_bytes(image_bytes(text_image(INVOICE), "PNG"))
    (inbox / "letter.tif").write_bytes(image_bytes(text_image(LETTER), "TIFF", save_all=True,
                                                   append_images=[text_image(INVOICE)]))
    (inbox / "scan.pdf").write_bytes(scanned_pdf([LETTER]))
    (inbox / "blank.webp").write_bytes(image_bytes(text_image([]), "WEBP"))
    jpeg = image_bytes(text_image(INVOICE), "JPEG")
    (inbox / "broken.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    (inbox / "notes.txt").write_text("not in the selected groups")
    connector = make_connector(acme.id, "Local", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"],
              fileExtensions=["Images", "PDF documents"])
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "text_extractor")

    response = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0})
    assert response.status_code == 202, response.json
    run_jobs(app)

    execution = db.session.get(Execution, uuid.UUID(response.json["execution_id"]))
    files = {f.file_name: f for f in db.session.scalars(db.select(FileExecution))}
    assert sorted(files) == ["blank.webp", "broken.jpg", "invoice.png", "letter.tif", "scan.pdf"]
    assert execution.status == "COMPLETED" and (execution.successful_files, execution.failed_files) == (4, 1)
    invoice, letter, scan = files["invoice.png"].result, files["letter.tif"].result, files["scan.pdf"].result
    assert has_words(invoice["text"], " ".join(INVOICE)), invoice["text"]
    assert (invoice["mime_type"], invoice["ocr_pages"], invoice["pages"][0]["method"]) == ("image/png", 1, "ocr")
    assert has_words(letter["text"], " ".join(LETTER + INVOICE)), letter["text"]
    assert (letter["page_count"], letter["ocr_pages"]) == (2, 2)
    assert has_words(scan["text"], " ".join(LETTER)) and scan["pages"][0]["method"] == "ocr", scan
    assert files["blank.webp"].result["text"] == ""
    assert files["broken.jpg"].execution_error.startswith("text_extractor: Cannot read image: image file is truncated")
    warnings = [row.data["log"] for row in db.session.scalars(
        db.select(ExecutionLog).where(ExecutionLog.file_execution_id == files["blank.webp"].id))
        if row.data["level"] == "WARN"]
    assert warnings == ["text_extractor: no text extracted: OCR (language eng, 300 dpi) found no text on 1 page(s)."]
