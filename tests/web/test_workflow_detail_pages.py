"""Workflow detail page: the page, source/destination forms from the settings schemas, sharing (issue 4 item 3)."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.factories import add_membership, add_tool, configure, make_connector, make_workflow
from tests.web.web_client import XSS_NAME, html, htmx, is_full_page, post, web_login
from unstract.extensions import db
from unstract.models import Workflow, WorkflowRole


@pytest.fixture
def inbox(world, storage_root, workflow):
    (storage_root / "inbox").mkdir()
    return make_connector(workflow.organization_id, "Inbox", "local_storage", {"path": str(storage_root / "inbox")})


@pytest.fixture
def warehouse(world, storage_root, workflow):
    return make_connector(workflow.organization_id, "Warehouse", "sqlite", {"path": str(storage_root / "w.db")})


def endpoint(workflow_id, endpoint_type):
    db.session.expire_all()
    return db.session.get(Workflow, workflow_id).endpoint(endpoint_type)


def source_form(connector=None, **config) -> dict:
    data = {"connection_type": "FILESYSTEM", "connector_instance_id": str(connector.id) if connector else ""}
    data.update({f"configuration.{key}": value for key, value in config.items()})
    return data


# --- The page -----------------------------------------------------------------------------------

def test_detail_page_shows_every_section_to_an_owner_with_forms(owner_client, workflow):
    page = html(owner_client.get(f"/workflows/{workflow.id}"))
    assert is_full_page(page)
    for section in ('id="source"', 'id="destination"', 'id="tools"', 'id="sharing"', 'id="run"'):
        assert section in page
    assert f'hx-post="/workflows/{workflow.id}/endpoints/source"' in page and 'id="tool-add"' in page
    assert f'href="/workflows/{workflow.id}/edit"' in page and "/sharing" in page


def test_viewer_sees_everything_read_only_with_no_edit_controls(client, world, workflow, inbox):
    configure(workflow, "SOURCE", "FILESYSTEM", inbox, folders=["in"])
    add_tool(workflow, "field_extractor", rules=[{"name": "total", "pattern": "Total (\\d+)", "group": 1}])
    web_login(client, "viewer@acme.test")
    page = html(client.get(f"/workflows/{workflow.id}"))
    for control in ("/endpoints/", "/tools", "/sharing", "/owners", "/edit", "/delete", 'name="connection_type"'):
        assert control not in page, control
    assert "Inbox" in page and "<code>total</code>" in page and "Total (\\d+)" in page
    assert "only its owners can change it" in page and f'action="/workflows/{workflow.id}/run"' in page


@pytest.mark.parametrize("email, status", [
    ("owner@acme.test", 200), ("viewer@acme.test", 200), ("admin@acme.test", 200),
    ("member@acme.test", 404), ("outsider@other.test", 404),
])
def test_detail_is_visible_exactly_to_who_may_see_the_workflow(client, world, workflow, email, status):
    web_login(client, email)
    assert client.get(f"/workflows/{workflow.id}").status_code == status


def test_unknown_and_malformed_ids_are_404_and_anonymous_goes_to_login(client, world, workflow):
    assert client.get(f"/workflows/{workflow.id}").headers["Location"].startswith("/login")
    web_login(client, "owner@acme.test")
    assert client.get(f"/workflows/{uuid.uuid4()}").status_code == 404
    assert client.get("/workflows/not-a-uuid").status_code == 404


def test_workflow_names_with_html_render_as_text_on_the_detail_page(owner_client, world):
    workflow = make_workflow(world.users["owner"], "acme", workflow_name=XSS_NAME, description="<i>x</i>")
    page = html(owner_client.get(f"/workflows/{workflow.id}"))
    assert XSS_NAME not in page and "<i>x</i>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


# --- Source and destination ---------------------------------------------------------------------

def test_choosing_a_connection_type_returns_only_that_form_with_defaults(owner_client, workflow, inbox, warehouse):
    url = f"/workflows/{workflow.id}/endpoints/source?connection_type=FILESYSTEM"
    fragment = html(owner_client.get(url, headers=htmx()))
    assert not is_full_page(fragment) and fragment.lstrip().startswith('<section id="source"')
    assert f'value="{inbox.id}"' in fragment and str(warehouse.id) not in fragment
    assert 'name="configuration.maxFiles" value="100"' in fragment
    assert '<option value="reprocess_after_interval">Delete after</option>' in fragment
    assert 'type="checkbox" name="configuration.fileExtensions" value="Images"' in fragment
    assert '<textarea id="source-configuration-folders" name="configuration.folders"' in fragment
    assert endpoint(workflow.id, "SOURCE").connection_type == ""
    assert is_full_page(html(owner_client.get(url)))


def test_database_destination_offers_database_connectors_only(owner_client, workflow, inbox, warehouse):
    url = f"/workflows/{workflow.id}/endpoints/destination?connection_type=DATABASE"
    fragment = html(owner_client.get(url, headers=htmx()))
    assert f'value="{warehouse.id}"' in fragment and str(inbox.id) not in fragment
    assert 'name="configuration.includeAgent" value="true"' in fragment


def test_saving_a_source_stores_the_document_with_defaults(owner_client, workflow, inbox):
    data = source_form(inbox, folders="invoices\n\n  scans \n", fileExtensions=["PDF documents", "Images"],
                       maxFiles="7", fileReprocessingHandling="reprocess_after_interval", reprocessInterval="2",
                       intervalUnit="months", fileProcessingOrder="oldest_first")
    response = post(owner_client, f"/workflows/{workflow.id}/endpoints/source", data, headers=htmx())
    fragment = html(response)
    assert response.status_code == 200 and fragment.lstrip().startswith('<section id="source"')
    assert "Source saved." in fragment
    run = fragment.split('<section id="run"')[1]
    assert run.split(">")[0].endswith('hx-swap-oob="true"') and ">Run now</button>" in run
    saved = endpoint(workflow.id, "SOURCE")
    assert saved.connection_type == "FILESYSTEM" and saved.connector_instance_id == inbox.id
    assert saved.configuration == {
        "folders": ["invoices", "scans"], "processSubDirectories": False,
        "fileExtensions": ["PDF documents", "Images"], "maxFiles": 7,
        "fileReprocessingHandling": "reprocess_after_interval", "reprocessInterval": 2, "intervalUnit": "months",
        "fileProcessingOrder": "oldest_first"}


def test_saved_settings_are_shown_back_in_the_form(owner_client, workflow, inbox):
    configure(workflow, "SOURCE", "FILESYSTEM", inbox, folders=["a", "b"], fileExtensions=["Images"], maxFiles=9)
    page = html(owner_client.get(f"/workflows/{workflow.id}"))
    assert 'name="configuration.folders" rows="3" spellcheck="false">a\nb</textarea>' in page
    assert 'value="Images" checked' in page and 'name="configuration.maxFiles" value="9"' in page
    assert f'<option value="{inbox.id}" selected>' in page


@pytest.mark.parametrize("config, attr, message", [
    ({"maxFiles": "0"}, "maxFiles", "0 is less than the minimum of 1"),
    ({"maxFiles": "many"}, "maxFiles", "A valid integer is required."),
    ({"folders": "../up"}, "folders", "&#39;../up&#39; is not in the expected format."),
    ({"fileProcessingOrder": "random"}, "fileProcessingOrder", "&#39;random&#39; is not one of"),
])
def test_source_settings_errors_are_shown_next_to_their_input(owner_client, workflow, inbox, config, attr, message):
    response = post(owner_client, f"/workflows/{workflow.id}/endpoints/source", source_form(inbox, **config),
                    headers=htmx())
    fragment = html(response)
    assert response.status_code == 400 and fragment.lstrip().startswith('<section id="source"')
    error = fragment.split(f'id="source-configuration-{attr}-error">')[1].split("</p>")[0]
    assert message in error
    assert endpoint(workflow.id, "SOURCE").connection_type == ""


def test_connector_errors_are_shown_at_the_connector(owner_client, workflow, warehouse):
    response = post(owner_client, f"/workflows/{workflow.id}/endpoints/source", source_form(warehouse),
                    headers=htmx())
    assert response.status_code == 400
    assert "Connector mode DATABASE does not fit connection type FILESYSTEM." in html(response)
    bad = post(owner_client, f"/workflows/{workflow.id}/endpoints/source",
               {"connection_type": "FILESYSTEM", "connector_instance_id": "nope"}, headers=htmx())
    assert bad.status_code == 400 and 'id="source-connector-error">Must be a valid UUID.' in html(bad)


def test_unknown_connection_type_is_reported_at_the_select(owner_client, workflow):
    response = post(owner_client, f"/workflows/{workflow.id}/endpoints/source", {"connection_type": "DATABASE"},
                    headers=htmx())
    assert response.status_code == 400
    assert 'id="source-connection-type-error">&#34;DATABASE&#34; is not a valid choice.' in html(response)


def test_filesystem_destination_requires_an_output_folder(owner_client, workflow, inbox):
    data = {"connection_type": "FILESYSTEM", "connector_instance_id": str(inbox.id), "configuration.outputFolder": ""}
    response = post(owner_client, f"/workflows/{workflow.id}/endpoints/destination", data, headers=htmx())
    fragment = html(response)
    assert response.status_code == 400 and fragment.lstrip().startswith('<section id="destination"')
    assert 'id="destination-configuration-outputFolder-error">This field may not be blank.' in fragment
    data["configuration.outputFolder"] = "results"
    ok = post(owner_client, f"/workflows/{workflow.id}/endpoints/destination", data, headers=htmx())
    assert ok.status_code == 200 and endpoint(workflow.id, "DESTINATION").configuration == {"outputFolder": "results"}


def test_database_destination_rules_a_schema_cannot_express_are_shown(owner_client, workflow, warehouse):
    data = {"connection_type": "DATABASE", "connector_instance_id": str(warehouse.id),
            "configuration.table": "x", "configuration.filePath": "data", "configuration.singleColumnName": "data"}
    response = post(owner_client, f"/workflows/{workflow.id}/endpoints/destination", data, headers=htmx())
    assert response.status_code == 400 and "Column name &#39;data&#39; is used twice." in html(response)


def test_api_source_takes_no_connector_and_no_settings_form_beyond_its_schema(owner_client, workflow):
    response = post(owner_client, f"/workflows/{workflow.id}/endpoints/source",
                    {"connection_type": "API", "configuration.fileExtensions": "Images"}, headers=htmx())
    assert response.status_code == 200 and 'name="connector_instance_id"' not in html(response)
    saved = endpoint(workflow.id, "SOURCE")
    assert (saved.connection_type, saved.connector_instance_id, saved.configuration) == (
        "API", None, {"fileExtensions": ["Images"]})


def test_endpoint_form_by_plain_post_redirects_or_renders_the_page_with_errors(owner_client, workflow, inbox):
    ok = post(owner_client, f"/workflows/{workflow.id}/endpoints/source", source_form(inbox))
    assert ok.status_code == 303 and ok.headers["Location"] == f"/workflows/{workflow.id}#source"
    bad = post(owner_client, f"/workflows/{workflow.id}/endpoints/source", source_form(inbox, maxFiles="0"))
    assert bad.status_code == 400 and is_full_page(html(bad)) and "less than the minimum of 1" in html(bad)


@pytest.mark.parametrize("email, status", [("viewer@acme.test", 403), ("member@acme.test", 404)])
def test_non_owners_cannot_configure_endpoints(client, world, workflow, inbox, email, status):
    client.csrf = web_login(client, email)
    assert post(client, f"/workflows/{workflow.id}/endpoints/source", source_form(inbox)).status_code == status
    url = f"/workflows/{workflow.id}/endpoints/source?connection_type=API"
    assert client.get(url, headers=htmx()).status_code == status
    assert endpoint(workflow.id, "SOURCE").connection_type == ""


def test_unknown_endpoint_slug_is_404(owner_client, workflow):
    assert post(owner_client, f"/workflows/{workflow.id}/endpoints/middle", {}).status_code == 404


# --- Sharing ------------------------------------------------------------------------------------

def roles(workflow_id) -> dict:
    db.session.expire_all()
    return {m.user.email: m.role for m in db.session.get(Workflow, workflow_id).memberships}


def test_sharing_saves_viewers_and_the_org_wide_switch(owner_client, world, workflow):
    data = {"shared_users": [str(world.users["member"].id)], "shared_to_org": "true"}
    response = post(owner_client, f"/workflows/{workflow.id}/sharing", data, headers=htmx())
    fragment = html(response)
    assert response.status_code == 200 and fragment.lstrip().startswith('<section id="sharing"')
    assert "Sharing saved." in fragment
    assert roles(workflow.id) == {"owner@acme.test": "owner", "member@acme.test": "viewer"}
    assert db.session.get(Workflow, workflow.id).shared_to_org is True


def test_sharing_errors_are_shown_and_nothing_changes(owner_client, world, workflow):
    data = {"shared_users": [str(world.users["outsider"].id), "garbage"]}
    response = post(owner_client, f"/workflows/{workflow.id}/sharing", data, headers=htmx())
    assert response.status_code == 400 and "Must be a valid UUID." in html(response)
    data = {"shared_users": [str(world.users["outsider"].id)]}
    response = post(owner_client, f"/workflows/{workflow.id}/sharing", data, headers=htmx())
    assert f"User {world.users['outsider'].id} is not a member of this organization." in html(response)
    assert roles(workflow.id) == {"owner@acme.test": "owner", "viewer@acme.test": "viewer"}


def test_sharing_by_a_plain_form_redirects_or_renders_the_page_with_errors(owner_client, world, workflow):
    ok = post(owner_client, f"/workflows/{workflow.id}/sharing", {"shared_to_org": "true"})
    assert ok.status_code == 303 and ok.headers["Location"] == f"/workflows/{workflow.id}#sharing"
    assert "Sharing saved." in html(owner_client.get(ok.headers["Location"]))
    bad = post(owner_client, f"/workflows/{workflow.id}/sharing", {"shared_users": [str(world.users["owner"].id)]})
    assert bad.status_code == 400 and is_full_page(html(bad))
    assert f"User {world.users['owner'].id} is an owner of this workflow." in html(bad)


def test_members_list_offers_non_owners_with_current_viewers_checked(owner_client, world, workflow):
    fragment = html(owner_client.get(f"/workflows/{workflow.id}")).split('id="sharing"')[1]
    assert f'value="{world.users["viewer"].id}" checked' in fragment
    assert f'name="shared_users" value="{world.users["member"].id}">' in fragment
    assert f'name="shared_users" value="{world.users["owner"].id}"' not in fragment
    assert "outsider@other.test" not in fragment


def test_owners_are_added_and_removed_but_never_the_last(owner_client, world, workflow):
    viewer_id = world.users["viewer"].id
    added = post(owner_client, f"/workflows/{workflow.id}/owners", {"user_id": str(viewer_id)}, headers=htmx())
    assert added.status_code == 200 and "Owner added." in html(added)
    assert roles(workflow.id)["viewer@acme.test"] == WorkflowRole.OWNER
    again = post(owner_client, f"/workflows/{workflow.id}/owners", {"user_id": str(viewer_id)}, headers=htmx())
    assert again.status_code == 400 and f"User {viewer_id} is already an owner." in html(again)
    removed = post(owner_client, f"/workflows/{workflow.id}/owners/{viewer_id}/delete", headers=htmx())
    assert removed.status_code == 200 and "viewer@acme.test" not in roles(workflow.id)
    owner_id = world.users["owner"].id
    last = post(owner_client, f"/workflows/{workflow.id}/owners/{owner_id}/delete", headers=htmx())
    assert last.status_code == 409 and "The last owner cannot be removed." in html(last)


def test_add_owner_needs_a_member(owner_client, workflow):
    response = post(owner_client, f"/workflows/{workflow.id}/owners", {"user_id": ""}, headers=htmx())
    assert response.status_code == 400 and 'id="add-owner-error">Choose a member.' in html(response)
    response = post(owner_client, f"/workflows/{workflow.id}/owners", {"user_id": "x"}, headers=htmx())
    assert 'id="add-owner-error">Must be a valid UUID.' in html(response)


def test_an_owner_who_removes_themselves_is_sent_away(owner_client, world, workflow):
    add_membership(workflow, world.users["member"], WorkflowRole.OWNER)
    response = post(owner_client, f"/workflows/{workflow.id}/owners/{world.users['owner'].id}/delete",
                    headers=htmx())
    assert response.headers["HX-Redirect"] == "/"
    assert "owner@acme.test" not in roles(workflow.id)


@pytest.mark.parametrize("email, status", [("viewer@acme.test", 403), ("member@acme.test", 404)])
def test_non_owners_cannot_change_sharing(client, world, workflow, email, status):
    client.csrf = web_login(client, email)
    member_id = str(world.users["member"].id)
    assert post(client, f"/workflows/{workflow.id}/sharing", {"shared_to_org": "true"}).status_code == status
    assert post(client, f"/workflows/{workflow.id}/owners", {"user_id": member_id}).status_code == status
    owner_id = world.users["owner"].id
    assert post(client, f"/workflows/{workflow.id}/owners/{owner_id}/delete").status_code == status
    assert roles(workflow.id) == {"owner@acme.test": "owner", "viewer@acme.test": "viewer"}


# --- Incomplete endpoints are saved with a visible warning ---------------------------------------

def _warning_of(fragment: str, slug: str) -> str:
    match = re.search(rf'<div class="notice notice-warning" role="(\w+)" id="{slug}-missing"><div>(.*?)</div></div>',
                      fragment, re.S)
    assert match, f"no warning in the {slug} section"
    return f"{match.group(1)}: {' '.join(match.group(2).split())}"


def test_a_destination_saved_without_a_connector_says_it_is_incomplete(owner_client, workflow, inbox):
    data = {"connection_type": "FILESYSTEM", "connector_instance_id": "", "configuration.outputFolder": "out"}
    response = post(owner_client, f"/workflows/{workflow.id}/endpoints/destination", data, headers=htmx())
    fragment = html(response)
    assert response.status_code == 200 and "Destination saved." in fragment
    assert _warning_of(fragment, "destination") == (
        "alert: <strong>Saved, but incomplete:</strong> The destination connector is not configured. "
        "The workflow cannot run until a destination is set up here.")
    run = fragment.split('<section id="run"')[1]
    assert "The destination connector is not configured." in run  # the Run card, swapped out of band
    page = html(owner_client.get(f"/workflows/{workflow.id}"))
    assert _warning_of(page, "destination").startswith("note: <strong>Incomplete:</strong> The destination connector")
    complete = {**data, "connector_instance_id": str(inbox.id)}
    fragment = html(post(owner_client, f"/workflows/{workflow.id}/endpoints/destination", complete, headers=htmx()))
    assert 'id="destination-missing"' not in fragment


def test_an_unconfigured_source_shows_it_is_incomplete_to_viewers_too(client, world, workflow):
    web_login(client, "viewer@acme.test")
    page = html(client.get(f"/workflows/{workflow.id}"))
    assert _warning_of(page, "source") == ("note: <strong>Incomplete:</strong> The source connection type is missing. "
                                           "The workflow cannot run until a source is set up.")
