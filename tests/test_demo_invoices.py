"""The "Invoice extraction" demo of the first-start bootstrap: its adapter waits for a base URL and key with a
clear message, and once pointed at an OpenAI-compatible service its steps read every sample invoice, the
scanned one through OCR."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from unstract.demo.make_samples import INVOICES_DIR, invoice_files
from unstract.extensions import db
from unstract.jsonschemas import mime_type_for
from unstract.models import Adapter, ToolInstance, Workflow
from unstract.services import accounts, adapters
from unstract.services.bootstrap import DEMO_ADAPTER_NAME, INVOICE_WORKFLOW_NAME, bootstrap
from unstract.tools import ToolError
from unstract.worker import trials

SECRET_KEY = "demo-test-secret"
EXPECTED = {
    "invoice-2001.pdf": {"invoice_number": "INV-2001", "invoice_date": "2026-11-02", "vendor": "ACME Supplies Ltd.",
                         "total": 1250.5, "line_items": [
                             {"description": "Office chairs", "quantity": 5, "amount": 1000.0},
                             {"description": "Desk lamps", "quantity": 5, "amount": 250.5}]},
    "invoice-2002.txt": {"invoice_number": "INV-2002", "invoice_date": "2026-11-15", "vendor": "Globex Paper Co.",
                         "total": 980.0, "line_items": [
                             {"description": "Printer paper (20 boxes)", "quantity": 20, "amount": 980.0}]},
    "invoice-2003-scanned.pdf": {"invoice_number": "INV-2003", "invoice_date": "2026-11-20",
                                 "vendor": "Northwind Traders", "total": 412.8, "line_items": [
                                     {"description": "Coffee beans", "quantity": 12, "amount": 412.8}]},
}


@pytest.fixture
def seeded(app):
    settings = dataclasses.replace(app.config["UNSTRACT_SETTINGS"], bootstrap=True, admin_password=None)
    bootstrap(settings, secret_key=SECRET_KEY)
    workflow = db.session.scalar(select(Workflow).where(Workflow.workflow_name == INVOICE_WORKFLOW_NAME))
    steps = list(db.session.scalars(select(ToolInstance).where(ToolInstance.workflow_id == workflow.id)
                                    .order_by(ToolInstance.step)))
    adapter = db.session.scalar(select(Adapter).where(Adapter.name == DEMO_ADAPTER_NAME))
    return workflow, steps, adapter


def test_the_invoice_workflow_reads_the_invoices_folder_with_text_then_llm_steps(seeded, storage_root):
    workflow, steps, adapter = seeded
    assert [step.tool_id for step in steps] == ["text_extractor", "llm_extractor"]
    assert steps[0].metadata_["mode"] == "auto" and steps[1].metadata_["adapter_id"] == str(adapter.id)
    fields = {field["name"]: field for field in steps[1].metadata_["fields"]}
    assert fields["line_items"]["columns"][0] == {"name": "description", "type": "text"}
    assert fields["invoice_number"]["required"] and fields["total"]["type"] == "number"
    source = next(e for e in workflow.endpoints if e.endpoint_type == "SOURCE")
    assert source.configuration["folders"] == ["invoices"]
    copied = sorted(p.name for p in (storage_root / "demo" / "invoices").iterdir())
    assert copied == sorted(invoice_files()) and "invoice-2003-scanned.pdf" in copied


def test_the_bundled_invoices_are_the_generated_ones_and_the_scanned_one_has_no_text_layer(app):
    for name, content in invoice_files().items():
        if not name.endswith("scanned.pdf"):  # the scan's JPEG bytes depend on the libjpeg build
            assert (INVOICES_DIR / name).read_bytes() == content, name
    scanned = trials.extract_text((INVOICES_DIR / "invoice-2003-scanned.pdf").read_bytes(), "application/pdf",
                                  {"mode": "native"}, app.config["UNSTRACT_SETTINGS"])
    assert scanned.text.strip() == ""


def test_until_it_is_configured_the_demo_adapter_says_so_instead_of_calling_anything(seeded):
    _, steps, adapter = seeded
    assert adapter.config["base_url"] == "https://api.openai.com/v1"
    outcome = adapters.test_connection(adapter, SECRET_KEY)
    assert outcome == {"ok": False, "error": adapters.NOT_CONFIGURED.format(name=DEMO_ADAPTER_NAME)}
    with pytest.raises(ToolError, match="is not configured yet: an org admin sets its base URL"):
        adapters.tool_call_settings(adapter.organization_id, "llm_extractor", steps[1].metadata_, SECRET_KEY)


def test_pointed_at_a_service_the_demo_extracts_every_invoice_including_the_scanned_one(
        app, seeded, storage_root, llm_server):
    workflow, steps, adapter = seeded
    admin = accounts.default_requester(accounts.find_user("admin@example.com"))
    adapters.update(admin, adapter, {"config": {**adapter.config, "base_url": llm_server.base_url,
                                                "model": "test-model", "api_key": "sk-my-own-key"}}, [],
                    secret_key=SECRET_KEY)
    settings = app.config["UNSTRACT_SETTINGS"]
    for name, expected in EXPECTED.items():
        path = storage_root / "demo" / "invoices" / name
        sample = trials.extract_text(path.read_bytes(), mime_type_for(name), steps[0].metadata_, settings)
        assert sample.error is None, name
        if name.endswith("scanned.pdf"):
            assert [page["method"] for page in sample.pages] == ["ocr"]
        result = trials.run_llm_extractor(workflow.organization_id, steps[1].metadata_, sample.text, settings,
                                          SECRET_KEY)
        assert result.error is None, (name, result.error)
        assert result.output["output"] == expected, name
        assert result.output["metadata"]["cost_usd"] is not None
