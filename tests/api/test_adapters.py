"""Adapters (docs/API.md, Adapters): admins write, members read, the key is sealed and never shown."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from tests.factories import add_tool, make_workflow
from tests.llm.factories import KEY, make_adapter
from unstract.extensions import db
from unstract.models import Adapter
from unstract.services import adapters


def body(base_url: str, name: str = "OpenAI", **config) -> dict:
    return {"name": name, "adapter_type": "llm", "provider": "openai",
            "config": {"base_url": base_url, "api_key": KEY, "model": "test-model", **config}}


def test_create_returns_the_config_without_the_key_and_a_hint(world, llm_server):
    response = world.api("admin").post("adapter/", json=body(llm_server.base_url))
    assert response.status_code == 201, response.json
    adapter = response.json
    assert adapter["api_key_set"] is True and adapter["api_key_hint"] == "\u2026" + KEY[-4:]
    assert adapter["config"] == {"base_url": llm_server.base_url, "model": "test-model", "timeout_seconds": 60,
                                 "max_retries": 3, "max_concurrency": 8, "input_cost_per_million": None,
                                 "output_cost_per_million": None, "supports_json_schema": True}
    assert set(adapter) == {"id", "name", "adapter_type", "provider", "config", "api_key_set", "api_key_hint",
                            "created_by", "created_at", "modified_at"}
    assert KEY not in response.get_data(as_text=True)
    stored = db.session.execute(text("SELECT config, sealed_api_key FROM adapter")).one()
    assert KEY not in json.dumps(stored.config) + stored.sealed_api_key


@pytest.mark.parametrize(("api_key", "hint"), [("abcd", None), ("sk-12345", None), ("sk-123456", "\u20263456")])
def test_a_short_key_gets_no_hint(world, llm_server, api_key, hint):
    """The last 4 characters of a key of 8 or fewer would give most or all of it away."""
    admin = world.api("admin")
    created = admin.post("adapter/", json={"name": "Short", "config": {"base_url": llm_server.base_url,
                                                                       "api_key": api_key, "model": "m"}})
    assert created.status_code == 201, created.json
    assert created.json["api_key_set"] is True and created.json["api_key_hint"] == hint
    assert admin.get(f"adapter/{created.json['id']}/").json["api_key_hint"] == hint
    if hint is None:
        assert api_key[-4:] not in created.get_data(as_text=True)
        stored = db.session.execute(text("SELECT api_key_last4 FROM adapter")).scalar_one()
        assert stored == ""


def test_members_read_but_only_admins_write(world, llm_server):
    adapter = make_adapter("acme", llm_server.base_url)
    member = world.api("member")
    assert member.get("adapter/").json["count"] == 1
    assert member.get(f"adapter/{adapter.id}/").json["name"] == "Test LLM"
    assert member.post("adapter/", json=body(llm_server.base_url)).status_code == 403
    assert member.patch(f"adapter/{adapter.id}/", json={"name": "x"}).status_code == 403
    assert member.delete(f"adapter/{adapter.id}/").status_code == 403
    assert member.post(f"adapter/{adapter.id}/test/").status_code == 403
    assert world.api("outsider", org_id="other").get(f"adapter/{adapter.id}/").status_code == 404


def test_validation_names_the_field_and_never_quotes_the_key(world, llm_server):
    admin = world.api("admin")
    make_adapter("acme", llm_server.base_url, name="Taken")
    response = admin.post("adapter/", json=body("ftp://x", name="Taken", max_retries=11, api_key="k" * 5000))
    assert response.status_code == 400
    entries = {(e["code"], e["attr"]) for e in response.json["errors"]}
    assert entries == {("unique", "name"), ("invalid", "config.base_url"), ("max_value", "config.max_retries"),
                       ("max_length", "config.api_key")}
    assert "k" * 100 not in response.get_data(as_text=True)
    missing = admin.post("adapter/", json={"name": "N", "config": {"base_url": llm_server.base_url}})
    assert {(e["code"], e["attr"]) for e in missing.json["errors"]} == {("required", "config.api_key"),
                                                                       ("required", "config.model")}


def test_patch_keeps_the_key_unless_a_new_one_is_sent(app, world, llm_server):
    adapter = make_adapter("acme", llm_server.base_url)
    admin = world.api("admin")
    response = admin.patch(f"adapter/{adapter.id}/", json={"config": {"base_url": llm_server.base_url,
                                                                      "model": "other-model"}})
    assert response.status_code == 200 and response.json["config"]["model"] == "other-model"
    row = db.session.get(Adapter, adapter.id, populate_existing=True)
    assert adapters.open_config(row, app.config["SECRET_KEY"]).api_key == KEY
    response = admin.patch(f"adapter/{adapter.id}/", json={"config": {"api_key": "sk-new-1234", "model": "m"}})
    assert response.json["api_key_hint"] == "\u20261234"
    row = db.session.get(Adapter, adapter.id, populate_existing=True)
    assert adapters.open_config(row, app.config["SECRET_KEY"]).api_key == "sk-new-1234"


def test_delete_is_refused_while_a_workflow_uses_the_adapter(world, llm_server):
    adapter = make_adapter("acme", llm_server.base_url)
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Invoices")
    add_tool(workflow, "llm_extractor", adapter_id=str(adapter.id), fields=[{"name": "total", "prompt": "Total"}])
    admin = world.api("admin")
    response = admin.delete(f"adapter/{adapter.id}/")
    assert response.status_code == 409
    assert response.json["errors"][0]["code"] == "adapter_in_use"
    assert "'Invoices'" in response.json["errors"][0]["detail"]
    free = make_adapter("acme", llm_server.base_url, name="Free")
    assert admin.delete(f"adapter/{free.id}/").status_code == 204


@pytest.mark.parametrize("spelling", [str.upper, lambda text: text.replace("-", "")])
def test_a_step_naming_the_adapter_in_another_spelling_stores_its_id_and_keeps_it_in_use(world, llm_server,
                                                                                         spelling):
    adapter = make_adapter("acme", llm_server.base_url)
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Spelled")
    created = world.api("owner").post("tool_instance/", json={
        "workflow_id": str(workflow.id), "tool_id": "llm_extractor",
        "metadata": {"adapter_id": spelling(str(adapter.id)), "fields": [{"name": "total", "prompt": "Total"}]}})
    assert created.status_code == 201, created.json
    assert created.json["metadata"]["adapter_id"] == str(adapter.id)
    response = world.api("admin").delete(f"adapter/{adapter.id}/")
    assert response.status_code == 409 and response.json["errors"][0]["code"] == "adapter_in_use"


def test_a_step_stored_earlier_in_another_spelling_still_keeps_the_adapter_in_use(world, llm_server):
    adapter = make_adapter("acme", llm_server.base_url)
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Legacy")
    add_tool(workflow, "llm_extractor", adapter_id=adapter.id.hex.upper(), fields=[{"name": "total", "prompt": "T"}])
    add_tool(workflow, "llm_extractor", adapter_id="not-a-uuid", fields=[{"name": "total", "prompt": "T"}])
    response = world.api("admin").delete(f"adapter/{adapter.id}/")
    assert response.status_code == 409 and "'Legacy'" in response.json["errors"][0]["detail"]


def test_connection_test_reports_ok_model_and_latency(world, llm_server):
    adapter = make_adapter("acme", llm_server.base_url)
    response = world.api("admin").post(f"adapter/{adapter.id}/test/")
    assert response.status_code == 200
    assert response.json["ok"] is True and response.json["model"] == "test-model"
    assert response.json["latency_ms"] >= 0
    [request] = llm_server.requests()
    assert request["authorization"] == f"Bearer {KEY}"


def test_connection_test_failures_are_200_with_the_reason_and_no_key(world, llm_server):
    rejected = make_adapter("acme", llm_server.base_url, name="Rejected", api_key="bad-key")
    down = make_adapter("acme", "http://127.0.0.1:9/v1", name="Down", max_retries=0)
    admin = world.api("admin")
    response = admin.post(f"adapter/{rejected.id}/test/")
    assert response.status_code == 200
    assert response.json == {"ok": False, "error": "the LLM service rejected the adapter's credentials: "
                                                   "Incorrect API key provided: [redacted]."}
    response = admin.post(f"adapter/{down.id}/test/")
    assert response.status_code == 200 and response.json["ok"] is False
    assert response.json["error"].startswith("LLM call failed after 1 attempts: connection error")
    assert KEY not in response.get_data(as_text=True)


@pytest.mark.parametrize(("fault", "reason"), [
    ("404", "HTTP 404: The model does not exist or you do not have access to it."),
    ("500", "HTTP 500: The server had an error."),
])
def test_connection_test_makes_one_call_and_quotes_the_provider(world, llm_server, fault, reason):
    """However many retries the adapter allows its tools, the test is one call reporting what the service said."""
    adapter = make_adapter("acme", llm_server.base_url, name="Faulty", model=f"m[[llm:{fault}]]", max_retries=3)
    response = world.api("admin").post(f"adapter/{adapter.id}/test/")
    assert response.status_code == 200
    assert response.json == {"ok": False, "error": f"LLM call failed after 1 attempts: {reason}"}
    assert len(llm_server.requests()) == 1


def test_a_provider_message_quoting_the_key_is_redacted(world, llm_server):
    adapter = make_adapter("acme", llm_server.base_url, name="Quoted", model="m[[llm:401]]")
    response = world.api("admin").post(f"adapter/{adapter.id}/test/")
    assert response.json == {"ok": False, "error": "the LLM service rejected the adapter's credentials: "
                                                   "Incorrect API key provided: [redacted]."}
    assert KEY not in response.get_data(as_text=True)


def test_list_orders_by_name_and_created_at(world, llm_server):
    for name in ("b", "a", "c"):
        make_adapter("acme", llm_server.base_url, name=name)
    member = world.api("member")
    assert [a["name"] for a in member.get("adapter/").json["results"]] == ["a", "b", "c"]
    assert [a["name"] for a in member.get("adapter/?ordering=-created_at").json["results"]] == ["c", "a", "b"]


def test_llm_extractor_settings_name_an_adapter_of_the_org(world, llm_server):
    workflow = make_workflow(world.users["owner"], "acme")
    other = make_adapter("other", llm_server.base_url)
    api = world.api("owner")
    fields = [{"name": "total", "prompt": "The total", "type": "number"}]
    for adapter_id in (str(other.id), str(uuid.uuid4())):
        response = api.post("tool_instance/", json={"workflow_id": str(workflow.id), "tool_id": "llm_extractor",
                                                    "metadata": {"adapter_id": adapter_id, "fields": fields}})
        assert response.status_code == 400
        assert [(e["code"], e["attr"]) for e in response.json["errors"]] == [("invalid", "metadata.adapter_id")]
    mine = make_adapter("acme", llm_server.base_url)
    response = api.post("tool_instance/", json={"workflow_id": str(workflow.id), "tool_id": "llm_extractor",
                                                "metadata": {"adapter_id": str(mine.id), "fields": fields}})
    assert response.status_code == 201, response.json
    assert response.json["metadata"]["mode"] == "single_pass"
    duplicate = api.post("tool_instance/", json={"workflow_id": str(workflow.id), "tool_id": "llm_extractor",
                                                 "metadata": {"adapter_id": str(mine.id), "fields": fields * 2}})
    assert [(e["code"], e["attr"]) for e in duplicate.json["errors"]] == [("unique", "metadata.fields.1.name")]


def test_a_key_sealed_under_another_secret_key_is_reported_not_raised(world, llm_server):
    adapter = make_adapter("acme", llm_server.base_url, secret_key="an-older-secret-key")
    response = world.api("admin").post(f"adapter/{adapter.id}/test/")
    assert response.json == {"ok": False, "error": "The stored API key cannot be decrypted; enter it again."}
