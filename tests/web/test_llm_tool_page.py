"""The dashboard's tool form offers llm_extractor (its settings rendered from the settings document) and
applies the same adapter check as the API."""

from __future__ import annotations

import json

from tests.llm.factories import make_adapter
from tests.web.web_client import html, htmx, post


def test_the_llm_extractor_form_renders_and_saves_with_an_adapter_of_the_org(owner_client, workflow):
    fragment = html(owner_client.get(f"/workflows/{workflow.id}/tools/new?tool_id=llm_extractor", headers=htmx()))
    assert 'name="metadata.adapter_id"' in fragment and 'name="metadata.fields"' in fragment  # fields as JSON
    fields = {"metadata.fields": json.dumps([{"name": "total", "prompt": "The total", "type": "number"}]),
              "metadata.mode": "single_pass", "metadata.max_input_chars": "1000"}
    unknown = post(owner_client, f"/workflows/{workflow.id}/tools",
                   {"tool_id": "llm_extractor", "metadata.adapter_id": "00000000-0000-4000-8000-000000000000",
                    **fields}, headers=htmx())
    assert "Unknown adapter" in html(unknown)
    adapter = make_adapter("acme", "http://127.0.0.1:9/v1")
    saved = post(owner_client, f"/workflows/{workflow.id}/tools",
                 {"tool_id": "llm_extractor", "metadata.adapter_id": str(adapter.id), **fields}, headers=htmx())
    assert "Step added: LLM extractor." in html(saved)
