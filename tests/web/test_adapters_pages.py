"""Adapters pages: list for every member; create, edit, test and delete for org admins; the key never shown."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import make_execution, make_workflow
from tests.llm.factories import KEY, make_adapter
from tests.web.web_client import XSS_NAME, html, htmx, web_login
from unstract.extensions import db
from unstract.models import Adapter, ToolInstance
from unstract.services import adapters

NEW_KEY = "sk-proj-BRAND-new-key-never-echoed-7777"


def _admin(client):
    web_login(client, "admin@acme.test")
    return client


def _form(base_url, **changes):
    fields = {"name": "Local model", "config.base_url": base_url, "config.api_key": NEW_KEY,
              "config.model": "test-model", "config.timeout_seconds": "10", "config.max_retries": "0",
              "config.max_concurrency": "4", "config.input_cost_per_million": "0.15",
              "config.output_cost_per_million": "", "config.supports_json_schema": "true"}
    return {**fields, **changes}


def _post(client, url, data, **kwargs):
    return client.post(url, data={"csrf_token": client.csrf, **data}, **kwargs)


def _stored(name):
    db.session.expire_all()
    return db.session.scalar(select(Adapter).where(Adapter.name == name))


def test_an_admin_creates_an_adapter_and_the_key_is_stored_sealed_and_shown_only_as_a_hint(client, world, app):
    admin = _admin(client)
    form = html(admin.get("/adapters/new"))
    assert 'name="config.api_key"' in form and 'type="password"' in form and 'name="csrf_token"' in form
    created = _post(admin, "/adapters", _form("http://127.0.0.1:9/v1"))
    assert created.status_code == 303
    adapter = _stored("Local model")
    assert adapter.config["model"] == "test-model" and adapter.config["input_cost_per_million"] == 0.15
    assert adapter.config["output_cost_per_million"] is None and adapter.config["max_concurrency"] == 4
    assert adapters.open_config(adapter, app.config["SECRET_KEY"]).api_key == NEW_KEY
    listing = html(admin.get("/adapters"))
    assert "Local model" in listing and "\u20267777" in listing and NEW_KEY not in listing
    edit = html(admin.get(f"/adapters/{adapter.id}/edit"))
    assert NEW_KEY not in edit and "\u20267777" in edit and 'value="test-model"' in edit


def test_a_short_key_is_not_hinted_on_the_pages(client, world):
    admin = _admin(client)
    adapter = make_adapter("acme", "http://127.0.0.1:9/v1", name="Short key", api_key="ab12")
    listing = html(admin.get("/adapters"))
    edit = html(admin.get(f"/adapters/{adapter.id}/edit"))
    for page in (listing, edit):
        assert "Short key" in page and "ab12" not in page and "None" not in page
    assert "a short key, not hinted" in edit


def test_editing_with_an_empty_key_keeps_the_stored_one_and_errors_show_next_to_their_inputs(client, world, app):
    admin = _admin(client)
    adapter = make_adapter("acme", "http://127.0.0.1:9/v1", name="Edited")
    bad = _post(admin, f"/adapters/{adapter.id}/edit",
                _form("not a url", name="Edited", **{"config.api_key": "", "config.max_retries": "99"}))
    page = html(bad)
    assert bad.status_code == 400
    assert "&#39;not a url&#39; is not in the expected format." in page
    assert "99 is greater than the maximum of 10" in page
    saved = _post(admin, f"/adapters/{adapter.id}/edit",
                  _form("http://127.0.0.1:9/v2", name="Edited", **{"config.api_key": ""}))
    assert saved.status_code == 303
    adapter = _stored("Edited")
    assert adapter.config["base_url"] == "http://127.0.0.1:9/v2"
    assert adapters.open_config(adapter, app.config["SECRET_KEY"]).api_key == KEY


def test_a_duplicate_name_and_a_missing_key_are_refused_with_readable_messages(client, world):
    admin = _admin(client)
    make_adapter("acme", "http://127.0.0.1:9/v1", name="Taken")
    page = html(_post(admin, "/adapters", _form("http://127.0.0.1:9/v1", name="Taken", **{"config.api_key": ""})))
    assert "An adapter with this name already exists." in page and "This field is required." in page


def test_test_connection_answers_in_place_with_the_reason_and_never_the_key(client, world, llm_server):
    admin = _admin(client)
    good = make_adapter("acme", llm_server.base_url, name="Good")
    bad = make_adapter("acme", llm_server.base_url, name="Bad", api_key="bad-key")
    ok = html(_post(admin, f"/adapters/{good.id}/test", {}, headers=htmx()))
    assert "Connected: model <code>test-model</code>" in ok
    refused = html(_post(admin, f"/adapters/{bad.id}/test", {}, headers=htmx()))
    assert "Connection failed:" in refused and "bad-key" not in refused
    plain = _post(admin, f"/adapters/{good.id}/test", {}, follow_redirects=True)
    assert "answered: model test-model" in html(plain) and KEY not in html(plain)


def test_deleting_an_adapter_in_use_is_refused_naming_the_workflows(client, world):
    admin = _admin(client)
    adapter = make_adapter("acme", "http://127.0.0.1:9/v1", name="Busy")
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Invoices LLM")
    db.session.add(ToolInstance(workflow_id=workflow.id, tool_id="llm_extractor", step=1,
                                metadata_={"adapter_id": str(adapter.id), "fields": []}))
    db.session.commit()
    assert "Invoices LLM" in html(admin.get("/adapters"))
    refused = _post(admin, f"/adapters/{adapter.id}/delete", {}, follow_redirects=True)
    assert "“Busy” was not deleted: Adapter is used by the workflow(s) &#39;Invoices LLM&#39;." in html(refused)
    assert _stored("Busy") is not None
    unused = make_adapter("acme", "http://127.0.0.1:9/v1", name="Spare")
    assert "Adapter “Spare” deleted." in html(_post(admin, f"/adapters/{unused.id}/delete", {}, follow_redirects=True))
    assert _stored("Spare") is None


def test_members_only_list_and_other_orgs_see_nothing(owner_client, world):
    adapter = make_adapter("acme", "http://127.0.0.1:9/v1", name=XSS_NAME)
    listing = html(owner_client.get("/adapters"))
    assert "&lt;img src=x" in listing and XSS_NAME not in listing
    assert "New adapter" not in listing and f"/adapters/{adapter.id}/edit" not in listing
    assert owner_client.get("/adapters/new").status_code == 403
    assert owner_client.get(f"/adapters/{adapter.id}/edit").status_code == 403
    assert _post(owner_client, f"/adapters/{adapter.id}/delete", {}).status_code == 403
    assert _post(owner_client, f"/adapters/{adapter.id}/test", {}).status_code == 403
    assert _post(owner_client, "/adapters", _form("http://127.0.0.1:9/v1")).status_code == 403
    other = make_adapter("other", "http://127.0.0.1:9/v1", name="Theirs")
    assert "Theirs" not in html(owner_client.get("/adapters"))
    assert owner_client.get(f"/adapters/{other.id}/edit").status_code == 404


def test_forms_without_the_csrf_token_are_refused(client, world):
    admin = _admin(client)
    adapter = make_adapter("acme", "http://127.0.0.1:9/v1", name="Guarded")
    assert admin.post("/adapters", data=_form("http://127.0.0.1:9/v1")).status_code in (400, 403)
    assert admin.post(f"/adapters/{adapter.id}/delete").status_code in (400, 403)
    assert admin.post(f"/adapters/{adapter.id}/test").status_code in (400, 403)
    assert _stored("Guarded") is not None and _stored("Local model") is None


def test_the_adapter_key_appears_in_no_page(client, world, app, llm_server):
    """Every dashboard page an admin can open, with the ids of an adapter, the workflow using it, its step,
    an execution and a trial run on a sample: the key is in none of them."""
    admin = _admin(client)
    adapter = make_adapter("acme", llm_server.base_url, name="Sweep")
    workflow = make_workflow(world.users["admin"], "acme", workflow_name="Sweep flow")
    instance = ToolInstance(workflow_id=workflow.id, tool_id="llm_extractor", step=1, metadata_={
        "adapter_id": str(adapter.id), "fields": [{"name": "total", "prompt": "The total", "type": "number"}]})
    db.session.add(instance)
    db.session.commit()
    execution = make_execution(workflow, status="COMPLETED", llm_calls=1, prompt_tokens=5, completion_tokens=1)
    ids = {"adapter_id": adapter.id, "workflow_id": workflow.id, "instance_id": instance.id,
           "execution_id": execution.id, "slug": "source"}
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(("/api", "/static", "/deployment/", "/metrics")) \
                or not set(rule.arguments) <= set(ids):
            continue
        url = rule.rule
        for name, value in ids.items():
            url = url.replace(f"<uuid:{name}>", str(value)).replace(f"<{name}>", str(value))
        pages.append((url, admin.get(url)))
    trial = admin.post(f"/workflows/{workflow.id}/tools/{instance.id}/try", content_type="multipart/form-data",
                       data={"csrf_token": admin.csrf, "action": "run", "sample_text": "Total: 12",
                             "metadata.adapter_id": str(adapter.id), "metadata.fields.0.name": "total",
                             "metadata.fields.0.type": "number", "metadata.fields.0.prompt": "The total"})
    assert '"total": 12' in html(trial)
    pages.append(("trial", trial))
    assert len(pages) > 20 and f"/adapters/{adapter.id}/edit" in [url for url, _ in pages]
    for url, response in pages:
        assert response.status_code < 500, url
        assert KEY not in html(response), url
        assert KEY[-12:] not in html(response), url
