"""Connectors pages: list, create, edit (secrets never shown back), delete (refused while in use)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.factories import configure, make_workflow
from tests.web.browser import screenshot
from tests.web.web_client import htmx, web_login
from unstract.extensions import db
from unstract.models import Connector
from unstract.services import accounts, connectors
from unstract.services.secrets import open_metadata

XSS = "<img src=x onerror=alert(1)>"
SECRET = "s3cr3t-Value-never-shown"


def _as(world, name):
    return accounts.default_requester(world.users[name])


def _make(app, world, name="Inbox", creator="owner", connector_id="local_storage", metadata=None):
    roots = app.config["UNSTRACT_SETTINGS"].local_storage_roots
    metadata = metadata if metadata is not None else {"path": roots[0]}
    body = {"connector_name": name, "connector_id": connector_id, "connector_metadata": metadata}
    created = connectors.create(_as(world, creator), body, [], roots=roots, secret_key=app.config["SECRET_KEY"])
    return db.session.get(Connector, created["id"])


def _s3(app, world, creator="owner", secret=SECRET):
    return _make(app, world, "Bucket", creator, "s3", {"bucket": "my-bucket", "key": "AKIA1", "secret": secret})


def _stored_secret(app, connector_id):
    db.session.expire_all()
    connector = db.session.get(Connector, connector_id)
    return open_metadata("s3", connector.connector_metadata, app.config["SECRET_KEY"])["secret"]


def _post(client, url, token, **fields):
    return client.post(url, data={"csrf_token": token, **fields})


def _s3_form(**changes):
    fields = {"connector_name": "Bucket", "connector_metadata.bucket": "my-bucket", "connector_metadata.key": "AKIA1",
              "connector_metadata.region": "us-east-1", "connector_metadata.endpoint_url": "",
              "connector_metadata.prefix": "", "connector_metadata.secret": ""}
    return {**fields, **changes}


def _error_of(html: str, attr: str) -> str:
    match = re.search(rf'<p class="field-error" id="{re.escape(attr.replace(".", "-"))}-error">([^<]*)</p>', html)
    assert match, f"no inline error for {attr}"
    return match.group(1)


# --- List -----------------------------------------------------------------------------------------

def test_list_shows_the_orgs_connectors_with_type_creator_and_usage(app, client, world):
    _make(app, world, "Inbox")
    used = _make(app, world, "Outbox", creator="member")
    configure(make_workflow(world.users["owner"], "acme"), "SOURCE", "FILESYSTEM", used)
    web_login(client, "owner@acme.test")
    html = client.get("/connectors").get_data(as_text=True)
    assert html.index("Inbox") < html.index("Outbox")
    assert "Local storage" in html and "owner@acme.test" in html and "member@acme.test" in html
    assert "1 endpoint" in html and "unused" in html


def test_list_hides_other_orgs_connectors(app, client, world):
    _make(app, world, "Theirs", creator="outsider")
    web_login(client, "owner@acme.test")
    html = client.get("/connectors").get_data(as_text=True)
    assert "Theirs" not in html
    assert "No connectors yet." in html


def test_list_fragment_for_htmx_filters_by_type(app, client, world):
    _make(app, world, "Inbox")
    _s3(app, world)
    web_login(client, "owner@acme.test")
    fragment = client.get("/connectors?connector_id=s3", headers=htmx()).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="connector-list">') and "<html" not in fragment
    assert "Bucket" in fragment and "Inbox" not in fragment
    full = client.get("/connectors?connector_id=s3").get_data(as_text=True)
    assert full.lstrip().startswith("<!doctype html>") and '<option value="s3" selected>' in full


@pytest.mark.parametrize("who, controls", [("owner", True), ("admin", True), ("member", False), ("viewer", False)])
def test_only_the_creator_and_admins_see_edit_and_delete(app, client, world, who, controls):
    connector = _make(app, world, "Inbox", creator="owner")
    web_login(client, world.people[who][0])
    html = client.get("/connectors").get_data(as_text=True)
    assert "Inbox" in html
    assert (f"/connectors/{connector.id}/edit" in html) is controls
    assert (f"/connectors/{connector.id}/delete" in html) is controls


# --- Create ---------------------------------------------------------------------------------------

def test_new_form_has_the_fields_of_the_chosen_type(client, world):
    web_login(client, "owner@acme.test")
    html = client.get("/connectors/new?connector_id=postgresql").get_data(as_text=True)
    names = re.findall(r'name="(connector_metadata\.[a-z_]+)"', html)
    assert names == [f"connector_metadata.{n}" for n in ("host", "port", "database", "user", "password", "schema")]
    assert re.search(r'type="number" id="field-connector_metadata-port"[^>]*value="5432"[^>]*min="1" max="65535"', html)
    assert re.search(r'type="password" id="field-connector_metadata-password"', html)
    assert '<option value="postgresql" selected>' in html


def test_type_switch_returns_only_the_metadata_fields_for_htmx(client, world):
    web_login(client, "owner@acme.test")
    fragment = client.get("/connectors/new?connector_id=s3", headers=htmx()).get_data(as_text=True)
    assert fragment.lstrip().startswith('<fieldset id="metadata-fields">') and "<html" not in fragment
    assert 'name="connector_metadata.bucket"' in fragment and 'type="password"' in fragment
    assert 'name="connector_name"' not in fragment


def test_unknown_type_in_the_query_falls_back_to_local_storage(client, world):
    web_login(client, "owner@acme.test")
    html = client.get("/connectors/new?connector_id=ftp").get_data(as_text=True)
    assert '<option value="local_storage" selected>' in html


def test_create_saves_and_returns_to_the_list(client, world, storage_root):
    (storage_root / "inbox").mkdir()
    token = web_login(client, "owner@acme.test")
    response = _post(client, "/connectors", token, connector_name="  Inbox ", connector_id="local_storage",
                     **{"connector_metadata.path": str(storage_root / "inbox")})
    assert response.status_code == 303 and response.headers["Location"] == "/connectors"
    connector = db.session.scalar(select(Connector))
    assert connector.connector_name == "Inbox" and connector.created_by == world.users["owner"].id
    assert connector.connector_metadata == {"path": str(storage_root / "inbox")}
    assert "Connector “Inbox” created." in client.get("/connectors").get_data(as_text=True)


def test_create_seals_the_secret_and_never_shows_it(app, client, world):
    token = web_login(client, "owner@acme.test")
    form = _s3_form(**{"connector_metadata.secret": SECRET})
    response = _post(client, "/connectors", token, connector_id="s3", **form)
    assert response.status_code == 303
    connector = db.session.scalar(select(Connector))
    assert SECRET not in str(connector.connector_metadata)
    assert _stored_secret(app, connector.id) == SECRET
    for path in ("/connectors", f"/connectors/{connector.id}/edit"):
        assert SECRET not in client.get(path).get_data(as_text=True)


def test_path_outside_the_allowed_roots_is_shown_next_to_the_path_field(client, world, storage_root):
    token = web_login(client, "owner@acme.test")
    response = _post(client, "/connectors", token, connector_name="Etc", connector_id="local_storage",
                     **{"connector_metadata.path": "/etc"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _error_of(html, "connector_metadata.path") == _folder_advice(storage_root, "/etc")
    assert 'value="Etc"' in html and 'value="/etc"' in html
    assert db.session.scalar(select(Connector)) is None


def _folder_hint(root) -> str:
    return (f"A folder inside the storage root {root}: its name (for example inbox, meaning {root}/inbox) "
            "or its absolute path.")


def _folder_advice(root, typed) -> str:
    return (f"“{typed}” is not an existing folder inside the storage root {root}. Type the name of a folder there "
            "(for example inbox) or its absolute path; create the folder first if it is new.")


def test_the_path_field_names_the_storage_root_and_offers_it(client, world, storage_root):
    (storage_root / "other-orgs-folder").mkdir()  # the roots are shared: their folders' names are not offered
    web_login(client, "owner@acme.test")
    html = client.get("/connectors/new").get_data(as_text=True)
    assert _folder_hint(storage_root) in html and "other-orgs-folder" not in html
    datalist = re.search(r'<datalist id="field-connector_metadata-path-suggestions">(.*?)</datalist>', html, re.S)
    assert datalist and re.findall(r'value="([^"]*)"', datalist.group(1)) == [str(storage_root)]
    assert 'list="field-connector_metadata-path-suggestions"' in html
    sqlite_fields = client.get("/connectors/new?connector_id=sqlite", headers=htmx()).get_data(as_text=True)
    assert f"(for example results.db, meaning {storage_root}/results.db)" in sqlite_fields


@pytest.mark.parametrize(("typed", "stored"), [("inbox", "inbox"), ("inbox/", "inbox"), ("./a/../inbox", "inbox"),
                                               ("", None)])
def test_a_path_relative_to_the_storage_root_is_saved_inside_it(client, world, storage_root, typed, stored):
    (storage_root / "inbox").mkdir()
    token = web_login(client, "owner@acme.test")
    (storage_root / "a").mkdir()
    response = _post(client, "/connectors", token, connector_name="Inbox", connector_id="local_storage",
                     **{"connector_metadata.path": typed})
    saved = db.session.scalar(select(Connector))
    if stored is None:  # empty: still refused, with the ordinary required-field message
        assert response.status_code == 400 and saved is None
        return
    assert response.status_code == 303
    assert saved.connector_metadata == {"path": str(storage_root / stored)}


@pytest.mark.parametrize("typed", ["../", "../outside", "missing", "escape", "escape/sub", "inbox/../../"])
def test_a_relative_path_never_leaves_the_storage_root(client, world, storage_root, tmp_path_factory, typed):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "sub").mkdir()
    (storage_root / "inbox").mkdir()
    (storage_root / "escape").symlink_to(outside)  # a link inside the root to a folder outside it
    token = web_login(client, "owner@acme.test")
    response = _post(client, "/connectors", token, connector_name="Out", connector_id="local_storage",
                     **{"connector_metadata.path": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _error_of(html, "connector_metadata.path") == _folder_advice(storage_root, typed)
    assert db.session.scalar(select(Connector)) is None


def test_the_typed_path_in_the_advice_is_escaped(client, world):
    token = web_login(client, "owner@acme.test")
    response = _post(client, "/connectors", token, connector_name="X", connector_id="local_storage",
                     **{"connector_metadata.path": XSS})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and XSS not in html
    assert _error_of(html, "connector_metadata.path").startswith("“&lt;img src=x onerror=alert(1)&gt;” is not")


def test_a_sqlite_file_relative_to_the_storage_root_is_saved_inside_it(client, world, storage_root):
    token = web_login(client, "owner@acme.test")
    bad = _post(client, "/connectors", token, connector_name="Results", connector_id="sqlite",
                **{"connector_metadata.path": "no-such-folder/results.db"})
    assert bad.status_code == 400
    assert _error_of(bad.get_data(as_text=True), "connector_metadata.path") == (
        f"“no-such-folder/results.db” is not inside the storage root {storage_root}, or its folder does not exist. "
        "Type a file name (for example results.db) or an absolute path inside the root, in a folder that exists.")
    response = _post(client, "/connectors", token, connector_name="Results", connector_id="sqlite",
                     **{"connector_metadata.path": "results.db"})
    assert response.status_code == 303
    assert db.session.scalar(select(Connector)).connector_metadata == {"path": str(storage_root / "results.db")}


def test_every_field_error_is_shown_at_once(app, client, world):
    _make(app, world, "Taken")
    token = web_login(client, "owner@acme.test")
    response = _post(client, "/connectors", token, connector_name="Taken", connector_id="postgresql",
                     **{"connector_metadata.host": "", "connector_metadata.port": "eighty",
                        "connector_metadata.database": "db", "connector_metadata.user": "u"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _error_of(html, "connector_name") == "A connector with this name already exists."
    assert _error_of(html, "connector_metadata.host") == "This field may not be blank."
    assert _error_of(html, "connector_metadata.port") == "A valid integer is required."
    assert 'value="eighty"' in html


@pytest.mark.parametrize("name, message", [
    ("", "This field may not be blank."), ("   ", "This field may not be blank."),
    ("x" * 129, "Ensure this field has no more than 128 characters."),
])
def test_bad_names_are_refused_inline(client, world, storage_root, name, message):
    token = web_login(client, "owner@acme.test")
    response = _post(client, "/connectors", token, connector_name=name, connector_id="local_storage",
                     **{"connector_metadata.path": str(storage_root)})
    assert response.status_code == 400
    assert _error_of(response.get_data(as_text=True), "connector_name") == message


def test_missing_name_and_unknown_type_are_refused_inline(client, world):
    token = web_login(client, "owner@acme.test")
    response = _post(client, "/connectors", token, connector_id="ftp")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _error_of(html, "connector_name") == "This field is required."
    assert _error_of(html, "connector_id") == "&#34;ftp&#34; is not a valid choice."


def test_a_typed_secret_is_not_sent_back_when_the_form_has_errors(client, world):
    token = web_login(client, "owner@acme.test")
    response = _post(client, "/connectors", token, connector_id="s3",
                     **_s3_form(**{"connector_metadata.bucket": "BAD", "connector_metadata.secret": SECRET}))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert SECRET not in html
    assert "connector_metadata-bucket-error" in html


# --- Edit -----------------------------------------------------------------------------------------

def test_edit_form_masks_a_stored_secret(app, client, world):
    connector = _s3(app, world)
    web_login(client, "owner@acme.test")
    html = client.get(f"/connectors/{connector.id}/edit").get_data(as_text=True)
    assert SECRET not in html
    assert re.search(r'name="connector_metadata.secret" value=""[^>]*placeholder="\*{8}"', html)
    assert "Leave this empty to keep it" in html
    assert 'value="my-bucket"' in html and "The type of a connector cannot be changed." in html


def test_leaving_the_secret_empty_keeps_it(app, client, world):
    connector = _s3(app, world)
    token = web_login(client, "owner@acme.test")
    response = _post(client, f"/connectors/{connector.id}/edit", token,
                     **_s3_form(connector_name="Renamed", **{"connector_metadata.region": "eu-west-1"}))
    assert response.status_code == 303
    assert _stored_secret(app, connector.id) == SECRET
    stored = db.session.get(Connector, connector.id)
    assert stored.connector_name == "Renamed" and stored.connector_metadata["region"] == "eu-west-1"


def test_typing_a_new_secret_replaces_it_and_the_box_removes_it(app, client, world):
    connector = _s3(app, world)
    token = web_login(client, "owner@acme.test")
    _post(client, f"/connectors/{connector.id}/edit", token, **_s3_form(**{"connector_metadata.secret": "new-one"}))
    assert _stored_secret(app, connector.id) == "new-one"
    _post(client, f"/connectors/{connector.id}/edit", token, **_s3_form(**{"connector_metadata.secret.clear": "1"}))
    assert _stored_secret(app, connector.id) == ""
    html = client.get(f"/connectors/{connector.id}/edit").get_data(as_text=True)
    assert "No secret is stored." in html and 'placeholder="********"' not in html


def test_edit_errors_are_inline_and_change_nothing(app, client, world):
    connector = _s3(app, world)
    token = web_login(client, "owner@acme.test")
    response = _post(client, f"/connectors/{connector.id}/edit", token,
                     **_s3_form(connector_name="", **{"connector_metadata.endpoint_url": "ftp://x"}))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _error_of(html, "connector_name") == "This field may not be blank."
    assert "connector_metadata-endpoint_url-error" in html
    assert 'placeholder="********"' in html  # the stored secret is still reported as stored
    assert db.session.get(Connector, connector.id).connector_name == "Bucket"


@pytest.mark.parametrize("who, status", [
    ("owner", 200), ("admin", 200), ("member", 403), ("viewer", 403), ("outsider", 404),
])
def test_edit_and_delete_permission_matrix(app, client, world, who, status):
    connector = _make(app, world, "Inbox", creator="owner")
    token = web_login(client, world.people[who][0])
    assert client.get(f"/connectors/{connector.id}/edit").status_code == status
    assert client.get(f"/connectors/{connector.id}/delete").status_code == status
    if status != 200:
        assert _post(client, f"/connectors/{connector.id}/edit", token, connector_name="Hacked").status_code == status
        assert _post(client, f"/connectors/{connector.id}/delete", token).status_code == status
        assert db.session.get(Connector, connector.id).connector_name == "Inbox"


def test_anonymous_is_sent_to_login_for_every_connector_page(app, client, world):
    connector = _make(app, world)
    for path in ("/connectors", "/connectors/new", f"/connectors/{connector.id}/edit",
                 f"/connectors/{connector.id}/delete"):
        assert client.get(path).headers["Location"].startswith("/login"), path


def test_unknown_and_malformed_ids_are_404(client, world):
    web_login(client, "admin@acme.test")
    assert client.get(f"/connectors/{uuid.uuid4()}/edit").status_code == 404
    assert client.get("/connectors/123/edit").status_code == 404


def test_connector_posts_need_the_csrf_token(app, client, world):
    connector = _make(app, world)
    web_login(client, "owner@acme.test")
    assert client.post(f"/connectors/{connector.id}/edit", data={"connector_name": "X"}).status_code == 400
    assert client.post(f"/connectors/{connector.id}/delete").status_code == 400
    assert db.session.get(Connector, connector.id) is not None


# --- Delete ---------------------------------------------------------------------------------------

def test_delete_removes_an_unused_connector(app, client, world):
    connector = _make(app, world, "Inbox")
    token = web_login(client, "admin@acme.test")
    response = _post(client, f"/connectors/{connector.id}/delete", token)
    assert response.status_code == 303
    assert db.session.scalar(select(Connector)) is None
    assert "Connector “Inbox” deleted." in client.get("/connectors").get_data(as_text=True)


def test_delete_of_a_connector_in_use_is_refused_with_a_clear_message(app, client, world):
    connector = _make(app, world, "Inbox")
    workflow = make_workflow(world.users["owner"], "acme")
    configure(workflow, "SOURCE", "FILESYSTEM", connector)
    configure(workflow, "DESTINATION", "FILESYSTEM", connector, outputFolder="out")
    token = web_login(client, "owner@acme.test")
    confirm = client.get(f"/connectors/{connector.id}/delete").get_data(as_text=True)
    assert "is used by 2 workflow endpoints, so it\n    cannot be deleted" in confirm
    link = f'<a href="/workflows/{workflow.id}">{workflow.workflow_name}</a> <span class="muted">(source)</span></li>'
    assert link in confirm
    assert "(destination)</span></li>" in confirm
    assert "Delete connector</button>" not in confirm
    response = _post(client, f"/connectors/{connector.id}/delete", token)
    assert response.status_code == 303
    html = client.get("/connectors").get_data(as_text=True)
    assert "“Inbox” was not deleted: Connector is used by 2 workflow endpoint(s)." in html
    assert 'class="flash flash-error"' in html
    assert db.session.get(Connector, connector.id) is not None


def test_connector_names_are_escaped_everywhere(app, client, world):
    connector = _make(app, world, XSS)
    token = web_login(client, "owner@acme.test")
    pages = [client.get(path).get_data(as_text=True) for path in
             ("/connectors", f"/connectors/{connector.id}/edit", f"/connectors/{connector.id}/delete")]
    _post(client, f"/connectors/{connector.id}/delete", token)
    pages.append(client.get("/connectors").get_data(as_text=True))  # the flash message
    for html in pages:
        assert XSS not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


# --- Browser --------------------------------------------------------------------------------------

@pytest.mark.browser
def test_connector_form_shows_server_errors_inline_then_creates(world, page, login, storage_root):
    (storage_root / "inbox").mkdir()
    login("owner@acme.test")
    page.goto("/connectors")
    page.get_by_role("link", name="New connector").first.click()
    page.wait_for_url("**/connectors/new")
    page.wait_for_load_state()  # htmx is loaded (deferred) before the type is switched
    page.get_by_label("Type").select_option("s3")
    page.get_by_label("Bucket").wait_for()  # fields swapped in by htmx
    assert page.get_by_label("Secret access key").get_attribute("type") == "password"
    page.get_by_label("Type").select_option("local_storage")
    page.get_by_label("Name").fill("Inbox")
    page.get_by_label("Root directory").fill("/etc")
    page.get_by_role("button", name="Create connector").click()
    error = page.locator("#connector_metadata-path-error")
    assert error.inner_text() == _folder_advice(storage_root, "/etc")
    assert page.get_by_label("Root directory").get_attribute("aria-invalid") == "true"
    screenshot(page, "connector-form")
    page.get_by_label("Root directory").fill("inbox")  # relative to the storage root
    page.get_by_role("button", name="Create connector").click()
    page.wait_for_url("**/connectors")
    expect(page.get_by_text("Connector “Inbox” created.")).to_be_visible()


@pytest.mark.browser
def test_connector_list_in_a_browser_escapes_names_and_asks_before_deleting(app, world, page, login):
    _make(app, world, XSS)
    _s3(app, world)
    used = _make(app, world, "Shared inbox", creator="admin")
    configure(make_workflow(world.users["owner"], "acme"), "SOURCE", "FILESYSTEM", used)
    login("admin@acme.test")
    page.goto("/connectors")
    assert page.locator("#connector-list strong", has_text=XSS).inner_text() == XSS
    assert page.locator("#connector-list img").count() == 0
    screenshot(page, "connectors")
    page.get_by_role("link", name="Delete Shared inbox").click()
    dialog = page.locator("dialog[open]")
    assert "cannot be deleted" in dialog.inner_text()
    assert dialog.get_by_role("button", name="Delete connector").count() == 0
    dialog.get_by_role("button", name="Close").click()
    page.get_by_role("link", name=f"Delete {XSS}").click()
    page.locator("dialog[open]").get_by_role("button", name="Delete connector").click()
    page.wait_for_url("**/connectors")
    expect(page.get_by_text(f"Connector “{XSS}” deleted.")).to_be_visible()


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_the_path_advice_and_suggestions_fit_laptop_and_phone(world, page, login, storage_root, width):
    (storage_root / "inbox").mkdir()
    page.set_viewport_size({"width": width, "height": 800})
    login("owner@acme.test")
    page.goto("/connectors/new")
    path = page.get_by_label("Root directory")
    assert path.get_attribute("list") == "field-connector_metadata-path-suggestions"
    expect(page.locator("#field-connector_metadata-path-suggestions option")).to_have_count(1)
    expect(page.get_by_text(_folder_hint(storage_root))).to_be_visible()
    page.get_by_label("Name").fill("Missing")
    path.fill("no-such-folder")
    page.get_by_role("button", name="Create connector").click()
    expect(page.locator("#connector_metadata-path-error")).to_have_text(_folder_advice(storage_root, "no-such-folder"))
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0


def test_delete_dialog_names_visible_workflows_and_only_counts_the_others(app, client, world):
    connector = _make(app, world, "Inbox")
    mine = make_workflow(world.users["owner"], "acme", workflow_name="Invoices <2026>")
    secret = make_workflow(world.users["member"], "acme", workflow_name="Member's private payroll")
    configure(mine, "SOURCE", "FILESYSTEM", connector)
    configure(secret, "SOURCE", "FILESYSTEM", connector)
    web_login(client, "owner@acme.test")
    for page in (client.get(f"/connectors/{connector.id}/delete"), client.get("/connectors")):
        text = page.get_data(as_text=True)
        assert f'<a href="/workflows/{mine.id}">Invoices &lt;2026&gt;</a>' in text
        assert "payroll" not in text and str(secret.id) not in text
        assert "1 endpoint of workflows you cannot see" in text


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_delete_dialog_lists_the_workflows_using_it_within_the_dialog(app, world, page, login, width):
    used = _make(app, world, "Shared inbox")
    long_name = "Supplier invoices of the Berlin, Munich and Hamburg offices, scanned and typed, 2026"
    for name in (long_name, "Receipts"):
        configure(make_workflow(world.users["owner"], "acme", workflow_name=name), "SOURCE", "FILESYSTEM", used)
    page.set_viewport_size({"width": width, "height": 800})
    login("owner@acme.test")
    page.goto("/connectors")
    page.get_by_role("link", name="Delete Shared inbox").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_role("link", name=long_name)).to_be_visible()
    expect(dialog.get_by_role("link", name="Receipts")).to_be_visible()
    assert dialog.evaluate("d => d.scrollWidth - d.clientWidth") <= 0
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
