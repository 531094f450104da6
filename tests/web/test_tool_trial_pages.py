"""Trying a step on a sample document: the text per page with its method, the LLM extractor's fields in a
form, a run on the sample against the LLM test server, and nothing of it stored as an execution."""

from __future__ import annotations

import io
import json
import re

from sqlalchemy import func, select

from tests.llm.factories import KEY, make_adapter
from tests.tools.scans import scanned_pdf
from tests.web.web_client import html
from unstract.extensions import db, rq
from unstract.models import Execution, FileHistory, ToolInstance
from unstract.services import adapter_slots
from unstract.worker import trials

INVOICE = b"ACME Supplies\nInvoice number: INV-77\nTotal: 1,250.50\nPaid: yes\nItem: description=Chairs; amount=250\n"


def _llm_step(workflow, adapter, fields=None, step=1):
    instance = ToolInstance(workflow_id=workflow.id, tool_id="llm_extractor", step=step, metadata_={
        "adapter_id": str(adapter.id), "mode": "single_pass", "max_input_chars": 200000,
        "fields": fields or [{"name": "invoice_number", "prompt": "The invoice number", "type": "text",
                              "required": False}]})
    db.session.add(instance)
    db.session.commit()
    return instance


def _url(workflow, instance):
    return f"/workflows/{workflow.id}/tools/{instance.id}/try"


def _fields_form(**changes):
    fields = {"metadata.adapter_id": changes.pop("adapter_id"), "metadata.mode": "single_pass",
              "metadata.instructions": "",
              "metadata.fields.0.name": "invoice_number", "metadata.fields.0.type": "text",
              "metadata.fields.0.prompt": "The invoice number",
              "metadata.fields.1.name": "total", "metadata.fields.1.type": "number",
              "metadata.fields.1.prompt": "The total", "metadata.fields.1.required": "true",
              "metadata.fields.2.name": "item", "metadata.fields.2.type": "line_items",
              "metadata.fields.2.prompt": "The items", "metadata.fields.2.columns.0.name": "description",
              "metadata.fields.2.columns.0.type": "text", "metadata.fields.2.columns.1.name": "amount",
              "metadata.fields.2.columns.1.type": "number"}
    return {**fields, **changes}


def _post(client, url, data, files=None):
    body = {"csrf_token": client.csrf, **data}
    for name, (content, filename) in (files or {}).items():
        body[name] = (io.BytesIO(content), filename)
    return client.post(url, data=body, content_type="multipart/form-data")


def _counts():
    return (db.session.scalar(select(func.count()).select_from(Execution)),
            db.session.scalar(select(func.count()).select_from(FileHistory)))


def test_a_sample_is_read_page_by_page_and_the_fields_run_on_it_without_an_execution(
        owner_client, workflow, llm_server):
    adapter = make_adapter("acme", llm_server.base_url, input_cost_per_million=1.0, output_cost_per_million=2.0)
    instance = _llm_step(workflow, adapter)
    before = _counts()
    page = html(owner_client.get(_url(workflow, instance)))
    assert 'name="metadata.fields.0.name" value="invoice_number"' in page and 'type="file"' in page
    assert 'name="metadata.fields"' not in page  # a form, not a JSON text box
    read = html(_post(owner_client, _url(workflow, instance), {"action": "extract", **_fields_form(
        adapter_id=str(adapter.id))}, {"sample": (INVOICE, "invoice.txt")}))
    assert "Text of invoice.txt" in read and "Page 1" in read and "text layer" in read
    assert "Invoice number: INV-77" in read
    carried = re.search(r'name="sample_text" value="([^"]*)"', read).group(1)
    assert "INV-77" in carried
    ran = _post(owner_client, _url(workflow, instance), {
        "action": "run", "sample_name": "invoice.txt", "sample_text": INVOICE.decode(),
        "sample_pages": json.dumps([{"page": 1, "method": "native", "chars": len(INVOICE)}]),
        **_fields_form(adapter_id=str(adapter.id))})
    result = html(ran)
    assert ran.status_code == 200
    assert '"invoice_number": "INV-77"' in result and '"total": 1250.5' in result
    assert '"description": "Chairs"' in result and '"amount": 250' in result
    assert "Tokens" in result and "$0.0" in result and KEY not in result
    sent = llm_server.requests()[-1]["body"]
    assert "INV-77" in sent["messages"][1]["content"]
    assert set(sent["response_format"]["json_schema"]["schema"]["properties"]) == {"invoice_number", "total", "item"}
    assert _counts() == before
    db.session.expire_all()
    assert [f["name"] for f in db.session.get(ToolInstance, instance.id).metadata_["fields"]] == ["invoice_number"]


def test_a_scanned_pdf_sample_shows_its_ocr_pages(owner_client, workflow):
    adapter = make_adapter("acme", "http://127.0.0.1:9/v1")
    instance = _llm_step(workflow, adapter)
    pdf = scanned_pdf([["Invoice number: SCAN-42", "Total: 99.00"]])
    page = html(_post(owner_client, _url(workflow, instance), {"action": "extract", **_fields_form(
        adapter_id=str(adapter.id))}, {"sample": (pdf, "scan.pdf")}))
    assert "Text of scan.pdf" in page and 'method-ocr">OCR</span>' in page
    assert "SCAN-42" in page


def test_saving_writes_the_fields_to_the_step_and_bad_fields_show_next_to_their_inputs(
        owner_client, workflow):
    adapter = make_adapter("acme", "http://127.0.0.1:9/v1")
    instance = _llm_step(workflow, adapter)
    bad = _post(owner_client, _url(workflow, instance), {"action": "save", **_fields_form(
        adapter_id=str(adapter.id), **{"metadata.fields.1.name": "total amount"})})
    assert bad.status_code == 400
    assert "&#39;total amount&#39; is not in the expected format." in html(bad)
    twice = _post(owner_client, _url(workflow, instance), {"action": "save", **_fields_form(
        adapter_id=str(adapter.id), **{"metadata.fields.2.columns.1.name": "description"})})
    assert twice.status_code == 400 and "Column names must be unique." in html(twice)
    saved = html(_post(owner_client, _url(workflow, instance), {"action": "save", **_fields_form(
        adapter_id=str(adapter.id))}))
    assert "Fields saved to step 1." in saved
    db.session.expire_all()
    stored = db.session.get(ToolInstance, instance.id).metadata_
    assert [f["name"] for f in stored["fields"]] == ["invoice_number", "total", "item"]
    assert stored["fields"][1]["required"] is True and stored["fields"][1]["type"] == "number"
    assert stored["fields"][2]["columns"] == [{"name": "description", "type": "text"},
                                              {"name": "amount", "type": "number"}]


def test_row_buttons_add_and_remove_fields_and_columns_without_saving(owner_client, workflow):
    adapter = make_adapter("acme", "http://127.0.0.1:9/v1")
    instance = _llm_step(workflow, adapter)
    detail = html(owner_client.get(f"/workflows/{workflow.id}"))
    assert detail.count(f"/tools/{instance.id}/try") == 2 and "Edit fields &amp; try" in detail
    added = html(_post(owner_client, _url(workflow, instance), {"_row": "add_field", **_fields_form(
        adapter_id=str(adapter.id))}))
    assert 'name="metadata.fields.3.name" value=""' in added
    removed = html(_post(owner_client, _url(workflow, instance), {"_row": "remove_field:0", **_fields_form(
        adapter_id=str(adapter.id))}))
    assert 'name="metadata.fields.0.name" value="total"' in removed and "invoice_number" not in removed
    column = html(_post(owner_client, _url(workflow, instance), {"_row": "add_column:2", **_fields_form(
        adapter_id=str(adapter.id))}))
    assert 'name="metadata.fields.2.columns.2.name" value=""' in column
    db.session.expire_all()
    assert len(db.session.get(ToolInstance, instance.id).metadata_["fields"]) == 1


def test_an_unreachable_or_unconfigured_adapter_and_a_bad_sample_give_readable_messages(
        owner_client, workflow, llm_server):
    adapter = make_adapter("acme", llm_server.base_url, api_key="bad-key")
    instance = _llm_step(workflow, adapter)
    refused = html(_post(owner_client, _url(workflow, instance), {
        "action": "run", "sample_text": "Invoice number: X", **_fields_form(adapter_id=str(adapter.id))}))
    assert "the LLM service rejected the adapter&#39;s credentials." in refused and "bad-key" not in refused
    corrupt = html(_post(owner_client, _url(workflow, instance), {"action": "extract", **_fields_form(
        adapter_id=str(adapter.id))}, {"sample": (b"%PDF-1.4 not really", "broken.pdf")}))
    assert "Cannot read PDF" in corrupt
    unknown_type = html(_post(owner_client, _url(workflow, instance), {"action": "extract", **_fields_form(
        adapter_id=str(adapter.id))}, {"sample": (b"MZ", "tool.exe")}))
    assert "unsupported file type" in unknown_type
    nothing = _post(owner_client, _url(workflow, instance), {"action": "run", **_fields_form(
        adapter_id=str(adapter.id))})
    assert nothing.status_code == 400 and "Upload a sample document first." in html(nothing)


def test_viewers_and_other_orgs_cannot_try_and_posts_need_the_csrf_token(client, viewer_client, workflow, world):
    adapter = make_adapter("acme", "http://127.0.0.1:9/v1")
    instance = _llm_step(workflow, adapter)
    assert viewer_client.get(_url(workflow, instance)).status_code == 403
    assert _post(viewer_client, _url(workflow, instance), {"action": "extract"}).status_code == 403
    no_token = viewer_client.post(_url(workflow, instance), data={"action": "extract"})
    assert no_token.status_code in (400, 403)


def test_a_text_extractor_step_can_be_tried_too(owner_client, workflow):
    instance = ToolInstance(workflow_id=workflow.id, tool_id="text_extractor", step=1,
                            metadata_={"mode": "auto"})
    db.session.add(instance)
    db.session.commit()
    page = html(_post(owner_client, _url(workflow, instance), {"action": "extract"},
                      {"sample": (b"Hello from a sample", "hello.txt")}))
    assert "Hello from a sample" in page and "Fields to extract" not in page
    step_page = html(owner_client.get(f"/workflows/{workflow.id}"))
    assert f"/tools/{instance.id}/try" in step_page


def test_a_trial_holds_one_of_its_adapters_call_slots_and_waits_while_they_are_busy(
        owner_client, workflow, llm_server, monkeypatch):
    adapter = make_adapter("acme", llm_server.base_url, max_concurrency=1)
    instance = _llm_step(workflow, adapter)
    monkeypatch.setattr(trials, "TRIAL_SLOT_WAIT_SECONDS", 1)

    def run_trial():
        return html(_post(owner_client, _url(workflow, instance), {
            "action": "run", "sample_name": "invoice.txt", "sample_text": INVOICE.decode(),
            "sample_pages": json.dumps([{"page": 1, "method": "native", "chars": len(INVOICE)}]),
            **_fields_form(adapter_id=str(adapter.id))}))

    connection = rq.connection()
    running_file = adapter_slots.try_take(connection, adapter.id, limit=1, wanted=1, lease_seconds=30)
    sent = len(llm_server.requests())
    try:
        busy = run_trial()
        assert "no call slot of adapter &#39;Test LLM&#39; came free within 1 s (max_concurrency 1)" in busy
        assert len(llm_server.requests()) == sent  # nothing went to the LLM beyond the adapter's limit
    finally:
        running_file.give_back()
    assert '"invoice_number": "INV-77"' in run_trial()
    assert len(llm_server.requests()) == sent + 1
    assert adapter_slots.slots_in_use(connection, adapter.id) == 0  # the trial gave its slot back
