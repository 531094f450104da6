"""The LLM client against the local OpenAI-compatible test server, through the real `openai` SDK."""

from __future__ import annotations

import json

import pytest

from unstract.llm.client import AdapterConfig, CredentialsRejected, LLMClient, LLMError

KEY = "sk-test-secret-key-4242"
SCHEMA = {"type": "object", "properties": {"invoice_number": {"type": ["string", "null"]},
                                           "total": {"type": ["number", "null"]}},
          "required": ["invoice_number", "total"], "additionalProperties": False}
FORMAT = {"type": "json_schema", "json_schema": {"name": "extraction", "strict": True, "schema": SCHEMA}}


def client(server, **config) -> LLMClient:
    values = {"model": "test-model", "api_key": KEY, "base_url": server.base_url, "max_retries": 2,
              "timeout_seconds": 5, **config}
    return LLMClient(AdapterConfig(**values))


def ask(llm: LLMClient, text: str):
    return llm.chat([{"role": "system", "content": "Extract."}, {"role": "user", "content": text}], FORMAT)


def test_answer_comes_from_the_document_with_usage_and_one_call(llm_server):
    with client(llm_server) as llm:
        reply = ask(llm, "Invoice number: INV-7\nTotal: 1,250.50\n")
    assert json.loads(reply.content) == {"invoice_number": "INV-7", "total": "1,250.50"}
    assert reply.calls == 1 and reply.model == "test-model"
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 0
    [request] = llm_server.requests()
    assert request["authorization"] == f"Bearer {KEY}"
    assert request["body"]["temperature"] == 0 and request["body"]["response_format"] == FORMAT


@pytest.mark.parametrize("word", ["429-once", "500-once"])
def test_a_transient_fault_is_retried_and_every_attempt_counted(llm_server, word):
    with client(llm_server) as llm:
        reply = ask(llm, f"[[llm:{word}]] Invoice number: A1")
    assert reply.calls == 2 and json.loads(reply.content)["invoice_number"] == "A1"


def test_a_persistent_fault_fails_after_every_retry(llm_server):
    with client(llm_server, max_retries=2) as llm, pytest.raises(LLMError) as failure:
        ask(llm, "[[llm:500]]")
    assert str(failure.value) == "LLM call failed after 3 attempts: HTTP 500: The server had an error."
    assert failure.value.calls == 3


def test_a_refusal_names_the_providers_reason_with_the_key_redacted(llm_server):
    with client(llm_server, model="m[[llm:404]]") as llm, \
            pytest.raises(LLMError) as failure:
        ask(llm, "Invoice number: A1")
    assert str(failure.value) == ("LLM call failed after 1 attempts: "
                                  "HTTP 404: The model does not exist or you do not have access to it.")
    with client(llm_server, model="m[[llm:401]]") as llm, pytest.raises(CredentialsRejected) as refused:
        ask(llm, "Invoice number: A1")
    assert refused.value.provider_reason == "Incorrect API key provided: [redacted]."


def test_a_timeout_is_reported_as_such(llm_server):
    with client(llm_server, max_retries=0, timeout_seconds=1) as llm, pytest.raises(LLMError) as failure:
        ask(llm, "[[llm:sleep=3]]")
    assert str(failure.value) == "LLM call failed after 1 attempts: timed out after 1 s"


def test_rejected_credentials_fail_at_once_without_the_key(llm_server):
    with client(llm_server, api_key="bad-key") as llm, pytest.raises(CredentialsRejected) as failure:
        ask(llm, "Invoice number: A1")
    assert str(failure.value) == "the LLM service rejected the adapter's credentials."
    assert failure.value.calls == 1


def test_an_unreachable_service_names_the_reason_not_the_key(llm_server):
    with client(llm_server, base_url="http://127.0.0.1:9/v1", max_retries=0) as llm:
        result = llm.test()
    assert result["ok"] is False and result["error"].startswith("LLM call failed after 1 attempts: connection error")
    assert KEY not in result["error"]


def test_connection_test_reports_model_and_latency(llm_server):
    with client(llm_server) as llm:
        result = llm.test()
    assert result["ok"] is True and result["model"] == "test-model" and result["latency_ms"] >= 0


def test_the_key_is_not_in_the_config_repr():
    assert KEY not in repr(AdapterConfig(model="m", api_key=KEY))
