"""llm_extractor on a real worker and tool process against the LLM test server (tests/llm_server.py).

Each document picks its own answer or fault with the test server's magic words; the adapter's key must
never reach an API response, a log line or a result."""

from __future__ import annotations

import json
import logging

import pytest

from tests.engine.harness import run_jobs
from tests.factories import add_tool, configure, make_connector, make_workflow
from tests.llm.factories import KEY, make_adapter
from unstract.extensions import db
from unstract.models import ExecutionLog, FileExecution

INVOICE = """ACME Corp
Invoice number: INV-7
Total: 1,250.50
Paid: yes
Invoice date: 5 March 2024
Email: billing@acme.test
Item: description=Widget; qty=2; price=3.50
Item: description=Gadget; qty=many; price=1
"""
FIELDS = [
    {"name": "invoice_number", "prompt": "The invoice number", "type": "text", "required": True},
    {"name": "total", "prompt": "The total amount", "type": "number"},
    {"name": "paid", "prompt": "Whether it is paid", "type": "boolean"},
    {"name": "invoice_date", "prompt": "The invoice date", "type": "date"},
    {"name": "email", "prompt": "The billing e-mail", "type": "email"},
    {"name": "item", "prompt": "The line items", "type": "line_items",
     "columns": [{"name": "description", "type": "text"}, {"name": "qty", "type": "integer"},
                 {"name": "price", "type": "number"}]},
]
EXPECTED = {"invoice_number": "INV-7", "total": 1250.5, "paid": True, "invoice_date": "2024-03-05",
            "email": "billing@acme.test",
            "item": [{"description": "Widget", "qty": 2, "price": 3.5},
                     {"description": "Gadget", "qty": None, "price": 1}]}


def run(app, world, acme, storage_root, documents: dict[str, str], adapter, **settings) -> dict:
    """Run a folder of documents through text_extractor + llm_extractor; the API's view of every file."""
    (storage_root / "in").mkdir()
    for name, content in documents.items():
        (storage_root / "in" / name).write_text(content)
    connector = make_connector(acme.id, "Local", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "text_extractor")
    add_tool(workflow, "llm_extractor", **{"adapter_id": str(adapter.id), "fields": FIELDS, **settings})
    api = world.api("owner")
    response = api.post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0})
    run_jobs(app)
    execution_id = response.json["execution_id"]
    execution = api.get(f"workflow/execution/{execution_id}/")
    files = api.get(f"workflow/execution/{execution_id}/files/?page_size=100")
    logs = api.get(f"workflow/execution/{execution_id}/logs/?page_size=1000")
    for page in (response, execution, files, logs):
        assert KEY not in page.get_data(as_text=True)
    return {"execution": execution.json, "files": {f["file_name"]: f for f in files.json["results"]},
            "logs": [row["data"]["log"] for row in logs.json["results"]]}


def assert_key_nowhere() -> None:
    rows = db.session.scalars(db.select(ExecutionLog)).all() + db.session.scalars(db.select(FileExecution)).all()
    stored = json.dumps([getattr(row, "data", None) for row in rows] + [getattr(row, "result", None) for row in rows]
                        + [getattr(row, "execution_error", None) for row in rows])
    assert KEY not in stored


def test_fields_are_extracted_coerced_and_counted(app, world, acme, storage_root, llm_server):
    adapter = make_adapter(acme, llm_server.base_url, input_cost_per_million=1.0, output_cost_per_million=2.0)
    seen = run(app, world, acme, storage_root, {"a.txt": INVOICE, "b.txt": "[[llm:fence]]\n" + INVOICE}, adapter)
    a, b = seen["files"]["a.txt"], seen["files"]["b.txt"]
    assert a["status"] == "COMPLETED" and a["result"]["output"] == EXPECTED
    assert b["status"] == "COMPLETED" and b["result"]["output"] == EXPECTED
    metadata = a["result"]["metadata"]
    assert (metadata["adapter"], metadata["model"], metadata["mode"], metadata["llm_calls"]) == (
        "Test LLM", "test-model", "single_pass", 1)
    tokens = metadata["usage"]
    assert tokens["total_tokens"] == tokens["prompt_tokens"] + tokens["completion_tokens"] > 0
    assert metadata["cost_usd"] == round((tokens["prompt_tokens"] + 2 * tokens["completion_tokens"]) / 1e6, 8)
    assert metadata["elapsed_seconds"] >= 0
    assert a["usage"] == {**tokens, "llm_calls": 1, "cost_usd": metadata["cost_usd"]}
    usage = seen["execution"]["usage"]
    both = [f["result"]["metadata"] for f in (a, b)]
    assert usage["llm_calls"] == 2
    assert usage["prompt_tokens"] == sum(m["usage"]["prompt_tokens"] for m in both)
    assert usage["total_tokens"] == sum(m["usage"]["total_tokens"] for m in both)
    assert usage["cost_usd"] == pytest.approx(sum(m["cost_usd"] for m in both))
    assert any("field 'item': line item 1 column 'qty' value 'many' is not a valid integer." in line
               for line in seen["logs"])
    assert_key_nowhere()


def test_the_request_has_the_pinned_shape(app, world, acme, storage_root, llm_server):
    adapter = make_adapter(acme, llm_server.base_url)
    run(app, world, acme, storage_root, {"a.txt": INVOICE}, adapter)
    [request] = llm_server.requests()
    assert request["authorization"] == f"Bearer {KEY}"
    sent = request["body"]
    assert sent["model"] == "test-model" and sent["temperature"] == 0
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert INVOICE.strip() in sent["messages"][1]["content"]
    response_format = sent["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "extraction" and response_format["json_schema"]["strict"]
    schema = response_format["json_schema"]["schema"]
    assert schema["required"] == [f["name"] for f in FIELDS] and schema["additionalProperties"] is False
    for field in FIELDS:
        prop = schema["properties"][field["name"]]
        assert "null" in prop["type"] and prop["description"] == field["prompt"]


def test_json_object_mode_puts_the_schema_in_the_system_message(app, world, acme, storage_root, llm_server):
    adapter = make_adapter(acme, llm_server.base_url, supports_json_schema=False)
    seen = run(app, world, acme, storage_root, {"a.txt": INVOICE}, adapter)
    assert seen["files"]["a.txt"]["result"]["output"] == EXPECTED
    [request] = llm_server.requests()
    assert request["body"]["response_format"] == {"type": "json_object"}
    assert '"invoice_number"' in request["body"]["messages"][0]["content"]


def test_per_field_mode_makes_one_call_per_field(app, world, acme, storage_root, llm_server):
    adapter = make_adapter(acme, llm_server.base_url)
    seen = run(app, world, acme, storage_root, {"a.txt": INVOICE}, adapter, mode="per_field")
    result = seen["files"]["a.txt"]["result"]
    assert result["output"] == EXPECTED and result["metadata"]["llm_calls"] == len(FIELDS)
    requests = llm_server.requests()
    assert sorted(list(r["body"]["response_format"]["json_schema"]["schema"]["properties"]) for r in requests) == \
        sorted([f["name"]] for f in FIELDS)
    assert seen["execution"]["usage"]["llm_calls"] == len(FIELDS)


def test_failures_fail_their_file_only_and_count_every_call(app, world, acme, storage_root, llm_server):
    adapter = make_adapter(acme, llm_server.base_url, max_retries=1)
    documents = {
        "1-ok.txt": INVOICE,
        "2-repaired.txt": "[[llm:invalid-json-once]]\n" + INVOICE,
        "3-never-json.txt": "[[llm:invalid-json]]\n" + INVOICE,
        "4-server-error.txt": "[[llm:500]]\n" + INVOICE,
        "5-missing.txt": "Total: 5\n",
        "6-rate-limited-once.txt": "[[llm:429-once]]\n" + INVOICE,
    }
    seen = run(app, world, acme, storage_root, documents, adapter)
    files = seen["files"]
    assert files["1-ok.txt"]["status"] == "COMPLETED"
    assert files["2-repaired.txt"]["result"]["output"] == EXPECTED
    assert files["2-repaired.txt"]["result"]["metadata"]["llm_calls"] == 2
    assert files["3-never-json.txt"]["execution_error"].startswith(
        "llm_extractor: the LLM reply is not a JSON object: ")
    assert files["3-never-json.txt"]["usage"]["llm_calls"] == 2
    assert files["4-server-error.txt"]["execution_error"] == ("llm_extractor: LLM call failed after 2 attempts: "
                                                               "HTTP 500: The server had an error.")
    assert files["4-server-error.txt"]["usage"]["llm_calls"] == 2
    assert files["5-missing.txt"]["execution_error"] == "llm_extractor: required field 'invoice_number' not found."
    assert files["6-rate-limited-once.txt"]["result"]["metadata"]["llm_calls"] == 2
    assert seen["execution"]["usage"]["llm_calls"] == 1 + 2 + 2 + 2 + 1 + 2
    assert (seen["execution"]["successful_files"], seen["execution"]["failed_files"]) == (3, 3)
    assert_key_nowhere()


def test_rejected_credentials_fail_at_once_without_the_key(app, world, acme, storage_root, llm_server, caplog):
    caplog.set_level(logging.DEBUG)
    adapter = make_adapter(acme, llm_server.base_url, api_key="bad-key", max_retries=3)
    seen = run(app, world, acme, storage_root, {"a.txt": INVOICE}, adapter)
    assert caplog.records and "bad-key" not in caplog.text  # the worker's own log lines
    failed = seen["files"]["a.txt"]
    assert failed["execution_error"] == "llm_extractor: the LLM service rejected the adapter's credentials."
    assert failed["usage"]["llm_calls"] == 1


def test_a_long_text_is_cut_at_max_input_chars_with_a_warning(app, world, acme, storage_root, llm_server):
    adapter = make_adapter(acme, llm_server.base_url)
    seen = run(app, world, acme, storage_root, {"a.txt": INVOICE + "x" * 500}, adapter, max_input_chars=100)
    assert seen["files"]["a.txt"]["result"]["output"]["invoice_number"] == "INV-7"
    [request] = llm_server.requests()
    assert "x" * 50 not in request["body"]["messages"][1]["content"]
    assert any(line.startswith("llm_extractor: input cut to max_input_chars=100 characters") for line in seen["logs"])


def test_warnings_are_logged_before_the_error_of_a_file_that_fails(app, world, acme, storage_root, llm_server):
    adapter = make_adapter(acme, llm_server.base_url)
    seen = run(app, world, acme, storage_root, {"a.txt": "Total: 5\n" + "x" * 500}, adapter, max_input_chars=100)
    error = "llm_extractor: required field 'invoice_number' not found."
    assert seen["files"]["a.txt"]["execution_error"] == error
    cut = next(i for i, line in enumerate(seen["logs"]) if line.startswith("llm_extractor: input cut"))
    assert cut < seen["logs"].index(error)


def test_an_execution_without_llm_calls_has_zero_usage(app, world, acme, storage_root):
    (storage_root / "in").mkdir()
    (storage_root / "in" / "a.txt").write_text("hello")
    connector = make_connector(acme.id, "Local", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "text_extractor")
    api = world.api("owner")
    response = api.post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0})
    run_jobs(app)
    execution = api.get(f"workflow/execution/{response.json['execution_id']}/").json
    assert execution["status"] == "COMPLETED"
    assert execution["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "llm_calls": 0,
                                  "cost_usd": None}


def test_an_unreadable_key_fails_the_file_with_a_reason(app, world, acme, storage_root, llm_server):
    adapter = make_adapter(acme, llm_server.base_url, secret_key="an-older-secret-key")
    seen = run(app, world, acme, storage_root, {"a.txt": INVOICE}, adapter)
    assert seen["files"]["a.txt"]["execution_error"] == (
        "llm_extractor: the adapter's API key cannot be read: The stored API key cannot be decrypted; enter it again.")
    assert llm_server.requests() == []


def test_an_adapter_left_unconfigured_fails_the_file_with_what_to_do_and_calls_nothing(
        app, world, acme, storage_root, llm_server):
    from unstract.services.adapters import UNCONFIGURED_KEY

    adapter = make_adapter(acme, llm_server.base_url, name="Demo LLM", api_key=UNCONFIGURED_KEY)
    seen = run(app, world, acme, storage_root, {"a.txt": INVOICE}, adapter)
    assert seen["files"]["a.txt"]["execution_error"] == (
        "llm_extractor: the adapter 'Demo LLM' is not configured yet: an org admin sets its base URL, model and "
        "API key on the LLM adapters page.")
    assert llm_server.requests() == []
