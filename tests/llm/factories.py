"""Adapters for tests, stored as the API stores them (key sealed)."""

from __future__ import annotations

from tests.factories import organization
from unstract.extensions import db
from unstract.models import Adapter
from unstract.services import adapters, secrets

KEY = "sk-live-SECRET-abcdefghijklmnop-9876"


def make_adapter(org, base_url: str, *, name: str = "Test LLM", api_key: str = KEY,
                 secret_key: str = "test-secret-key", **config) -> Adapter:
    values = {"base_url": base_url, "model": "test-model", "timeout_seconds": 10, "max_retries": 1,
              "max_concurrency": 8, "input_cost_per_million": None, "output_cost_per_million": None,
              "supports_json_schema": True, **config}
    adapter = Adapter(organization_id=organization(org).id, name=name, adapter_type="llm", provider="openai",
                      config=values, sealed_api_key=secrets.seal_value(api_key, secret_key),
                      api_key_last4=adapters.hint_tail(api_key))
    db.session.add(adapter)
    db.session.commit()
    return adapter
