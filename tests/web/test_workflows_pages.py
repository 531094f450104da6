"""Workflows list page: search, pages, last run, the active switch, create, edit and delete (issue 4 item 2)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from tests.factories import make_execution, make_workflow
from tests.web.web_client import XSS_NAME, html, htmx, is_full_page, post, put, web_login
from unstract.extensions import db
from unstract.models import Workflow
from unstract.models.base import utcnow


def table_names(text: str) -> list[str]:
    return re.findall(r'class="wf-name" href="[^"]+">([^<]+)</a>', text)


def stored(workflow_id) -> Workflow:
    db.session.expire_all()
    return db.session.get(Workflow, workflow_id)


# --- List, search, pages ------------------------------------------------------------------------

def test_list_is_a_full_page_without_htmx_and_only_the_table_with_it(owner_client, world):
    make_workflow(world.users["owner"], "acme", workflow_name="Invoices")
    page = html(owner_client.get("/"))
    fragment = html(owner_client.get("/", headers=htmx()))
    assert is_full_page(page) and 'id="create-workflow"' in page and 'id="wf-search-input"' in page
    assert not is_full_page(fragment) and fragment.lstrip().startswith('<div id="workflow-table"')
    assert table_names(fragment) == ["Invoices"] and 'id="create-workflow"' not in fragment


def test_search_narrows_the_table_case_insensitively_and_treats_percent_literally(owner_client, world):
    for name in ("Invoices EU", "invoices US", "Receipts", "100% done"):
        make_workflow(world.users["owner"], "acme", workflow_name=name)
    found = table_names(html(owner_client.get("/?search=INVOICES", headers=htmx())))
    assert sorted(found) == ["Invoices EU", "invoices US"]
    assert table_names(html(owner_client.get("/?search=%25", headers=htmx()))) == ["100% done"]
    empty = html(owner_client.get("/?search=nothing-like-this", headers=htmx()))
    assert table_names(empty) == [] and "No workflow name contains “nothing-like-this”." in empty


def test_pages_hold_25_rows_newest_change_first_and_a_page_past_the_end_shows_the_last(owner_client, world):
    start = utcnow() - timedelta(days=1)
    for n in range(30):
        make_workflow(world.users["owner"], "acme", workflow_name=f"wf-{n:02d}",
                      modified_at=start + timedelta(minutes=n))
    first = html(owner_client.get("/", headers=htmx()))
    second = html(owner_client.get("/?page=2", headers=htmx()))
    assert table_names(first)[:2] == ["wf-29", "wf-28"] and len(table_names(first)) == 25
    assert table_names(second) == [f"wf-{n:02d}" for n in range(4, -1, -1)]
    assert "26–30 of 30" in second and 'rel="prev"' in second and 'rel="next"' not in second
    assert table_names(html(owner_client.get("/?page=99", headers=htmx()))) == table_names(second)
    assert table_names(html(owner_client.get("/?page=abc", headers=htmx()))) == table_names(first)


def test_page_links_keep_the_search(owner_client, world):
    for n in range(27):
        make_workflow(world.users["owner"], "acme", workflow_name=f"Invoice {n}")
    fragment = html(owner_client.get("/?search=invoice", headers=htmx()))
    assert 'href="/?search=invoice&amp;page=2"' in fragment


def test_rows_show_owners_and_the_newest_execution_with_its_status(owner_client, world):
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Invoices")
    never = make_workflow(world.users["owner"], "acme", workflow_name="Fresh")
    make_execution(workflow, status="ERROR", created_at=utcnow() - timedelta(hours=3))
    newest = make_execution(workflow, status="COMPLETED", created_at=utcnow() - timedelta(minutes=5))
    fragment = html(owner_client.get("/", headers=htmx()))
    row = fragment.split(f'id="wf-{workflow.id}"')[1].split("</tr>")[0]
    assert f'href="/executions/{newest.id}"' in row and "status-completed" in row and "5 min ago" in row
    assert "status-error" not in row and "owner@acme.test" in row
    assert "Never run" in fragment.split(f'id="wf-{never.id}"')[1].split("</tr>")[0]


def count_queries(action) -> int:
    statements = []

    def record(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


def test_the_list_costs_the_same_number_of_queries_for_2_or_20_workflows(owner_client, world):
    def add(count):
        for _ in range(count):
            workflow = make_workflow(world.users["owner"], "acme", viewers=[world.users["viewer"]])
            make_execution(workflow, status="COMPLETED")
            make_execution(workflow, status="ERROR")

    add(2)
    small = count_queries(lambda: owner_client.get("/", headers=htmx()))
    add(18)
    large = count_queries(lambda: owner_client.get("/", headers=htmx()))
    assert large == small


@pytest.mark.parametrize("email, sees", [
    ("owner@acme.test", {"Private", "Shared", "Org-wide"}),
    ("viewer@acme.test", {"Shared", "Org-wide"}),
    ("member@acme.test", {"Org-wide"}),
    ("admin@acme.test", {"Private", "Shared", "Org-wide"}),
    ("outsider@other.test", set()),
])
def test_each_user_lists_exactly_the_workflows_visible_to_them(client, world, email, sees):
    owner = world.users["owner"]
    make_workflow(owner, "acme", workflow_name="Private")
    make_workflow(owner, "acme", workflow_name="Shared", viewers=[world.users["viewer"]])
    make_workflow(owner, "acme", workflow_name="Org-wide", shared_to_org=True)
    web_login(client, email)
    assert set(table_names(html(client.get("/", headers=htmx())))) == sees


def test_anonymous_visitors_are_sent_to_the_login_page(client, world):
    for response in (client.get("/"), client.get("/workflows/new"), client.post("/workflows")):
        assert response.status_code in (302, 400)
    assert client.get("/").headers["Location"].startswith("/login")


def test_workflow_names_with_html_render_as_text_in_the_list(owner_client, world):
    make_workflow(world.users["owner"], "acme", workflow_name=XSS_NAME, description="<b>bold</b>")
    page = html(owner_client.get("/"))
    assert XSS_NAME not in page and "<b>bold</b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;b&gt;bold&lt;/b&gt;" in page


# --- Active switch ------------------------------------------------------------------------------

def test_owner_toggles_active_in_place_and_gets_the_row_back(owner_client, world):
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Invoices")
    response = put(owner_client, f"/workflows/{workflow.id}/active", headers=htmx())
    row = html(response)
    assert response.status_code == 200 and row.lstrip().startswith(f'<tr id="wf-{workflow.id}"')
    assert stored(workflow.id).is_active is False and "Inactive" in row and " checked" not in row
    again = html(put(owner_client, f"/workflows/{workflow.id}/active", headers=htmx()))
    assert stored(workflow.id).is_active is True and " checked" in again


def test_toggle_by_a_plain_form_goes_back_to_the_list(owner_client, world):
    workflow = make_workflow(world.users["owner"], "acme")
    response = post(owner_client, f"/workflows/{workflow.id}/active")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert stored(workflow.id).is_active is False


def test_viewer_sees_a_disabled_switch_and_no_edit_controls_and_cannot_toggle(viewer_client, world):
    workflow = make_workflow(world.users["owner"], "acme", viewers=[world.users["viewer"]])
    row = html(viewer_client.get("/", headers=htmx()))
    assert " disabled" in row and "hx-put" not in row and "/edit" not in row and "/delete" not in row
    response = put(viewer_client, f"/workflows/{workflow.id}/active", headers=htmx())
    assert response.status_code == 403 and stored(workflow.id).is_active is True


def test_toggle_without_the_csrf_token_is_refused(client, world):
    web_login(client, "owner@acme.test")
    workflow = make_workflow(world.users["owner"], "acme")
    response = client.put(f"/workflows/{workflow.id}/active", headers=htmx())
    assert response.status_code == 400 and stored(workflow.id).is_active is True


def test_toggle_of_an_invisible_workflow_is_404(client, world):
    workflow = make_workflow(world.users["owner"], "acme")
    client.csrf = web_login(client, "member@acme.test")
    assert put(client, f"/workflows/{workflow.id}/active", headers=htmx()).status_code == 404


# --- Create -------------------------------------------------------------------------------------

def test_create_by_htmx_redirects_to_the_new_workflow(owner_client, world):
    response = post(owner_client, "/workflows", {"workflow_name": "  Invoices ", "description": "Monthly"},
                    headers=htmx())
    workflow = db.session.scalar(select(Workflow).where(Workflow.workflow_name == "Invoices"))
    assert response.status_code == 200 and response.headers["HX-Redirect"] == f"/workflows/{workflow.id}"
    assert workflow.description == "Monthly" and workflow.is_active is True


def test_create_by_a_plain_form_redirects_with_303(owner_client, world):
    response = post(owner_client, "/workflows", {"workflow_name": "Invoices"})
    assert response.status_code == 303 and response.headers["Location"].startswith("/workflows/")
    page = html(owner_client.get(response.headers["Location"]))
    assert "Workflow “Invoices” created." in page


@pytest.mark.parametrize("name, message", [
    ("   ", "This field may not be blank."),
    ("x" * 129, "Ensure this field has no more than 128 characters."),
    ("<script>alert(1)</script>", "Workflow name must not contain HTML or script tags."),
    ("javascript:alert(1)", "Workflow name must not contain dangerous URI protocols."),
    ("a onclick=go", "Workflow name must not contain event handler attributes."),
])
def test_create_shows_name_errors_inline_in_the_form_fragment(owner_client, world, name, message):
    response = post(owner_client, "/workflows", {"workflow_name": name}, headers=htmx())
    fragment = html(response)
    assert response.status_code == 400 and fragment.lstrip().startswith('<form id="create-workflow"')
    assert f'<p class="field-error" id="workflow_name-error">{message}</p>' in fragment.replace("&#34;", '"')
    assert 'aria-invalid="true"' in fragment and db.session.scalar(select(Workflow)) is None


def test_create_reports_a_duplicate_name_and_keeps_what_was_typed(owner_client, world):
    make_workflow(world.users["owner"], "acme", workflow_name="Invoices")
    response = post(owner_client, "/workflows", {"workflow_name": "Invoices", "description": "second"})
    page = html(response)
    assert response.status_code == 400 and is_full_page(page)
    assert "A workflow with this name already exists." in page and ">second</textarea>" in page


def test_create_reports_description_errors(owner_client, world):
    response = post(owner_client, "/workflows", {"workflow_name": "ok", "description": "d" * 491}, headers=htmx())
    assert response.status_code == 400
    assert "Ensure this field has no more than 490 characters." in html(response)


def test_new_workflow_page_has_the_form(owner_client):
    page = html(owner_client.get("/workflows/new"))
    assert is_full_page(page) and 'id="create-workflow"' in page and 'name="csrf_token"' in page


# --- Edit ---------------------------------------------------------------------------------------

def test_edit_page_shows_stored_values_and_saving_redirects_to_the_detail(owner_client, world):
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Invoices", description="old",
                             max_file_execution_count=4)
    page = html(owner_client.get(f"/workflows/{workflow.id}/edit"))
    assert 'value="Invoices"' in page and ">old</textarea>" in page and 'value="4"' in page
    response = post(owner_client, f"/workflows/{workflow.id}/edit",
                    {"workflow_name": "Invoices 2", "description": "new", "max_file_execution_count": ""})
    assert response.status_code == 303 and response.headers["Location"] == f"/workflows/{workflow.id}"
    saved = stored(workflow.id)
    assert (saved.workflow_name, saved.description, saved.max_file_execution_count) == ("Invoices 2", "new", None)


@pytest.mark.parametrize("retries, message", [
    ("abc", "A valid integer is required."),
    ("0", "Ensure this value is greater than or equal to 1."),
])
def test_edit_shows_errors_inline_in_the_fragment(owner_client, world, retries, message):
    make_workflow(world.users["owner"], "acme", workflow_name="Taken")
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Invoices")
    response = post(owner_client, f"/workflows/{workflow.id}/edit",
                    {"workflow_name": "Taken", "max_file_execution_count": retries}, headers=htmx())
    fragment = html(response)
    assert response.status_code == 400 and fragment.lstrip().startswith('<form id="edit-workflow"')
    assert "A workflow with this name already exists." in fragment and message in fragment
    assert stored(workflow.id).workflow_name == "Invoices"


def test_edit_page_is_a_full_page_and_its_form_a_fragment(owner_client, world):
    workflow = make_workflow(world.users["owner"], "acme")
    assert is_full_page(html(owner_client.get(f"/workflows/{workflow.id}/edit")))
    fragment = html(owner_client.get(f"/workflows/{workflow.id}/edit", headers=htmx()))
    assert fragment.lstrip().startswith('<form id="edit-workflow"')


@pytest.mark.parametrize("email, status", [
    ("viewer@acme.test", 403), ("member@acme.test", 404), ("outsider@other.test", 404), ("admin@acme.test", 303),
])
def test_only_owners_may_edit(client, world, email, status):
    workflow = make_workflow(world.users["owner"], "acme", viewers=[world.users["viewer"]], workflow_name="Kept")
    client.csrf = web_login(client, email)
    response = post(client, f"/workflows/{workflow.id}/edit", {"workflow_name": "Changed"})
    assert response.status_code == status
    assert stored(workflow.id).workflow_name == ("Changed" if status == 303 else "Kept")
    assert client.get(f"/workflows/{workflow.id}/edit").status_code == (200 if status == 303 else status)


# --- Delete -------------------------------------------------------------------------------------

def test_delete_asks_first_then_deletes_and_goes_back_to_the_list(owner_client, world):
    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Old")
    workflow_id = workflow.id
    confirm = html(owner_client.get(f"/workflows/{workflow.id}/delete"))
    assert "Delete “Old”?" in confirm and stored(workflow.id) is not None
    response = post(owner_client, f"/workflows/{workflow.id}/delete")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert stored(workflow_id) is None


def test_delete_from_the_row_removes_the_row_in_place(owner_client, world):
    workflow = make_workflow(world.users["owner"], "acme")
    workflow_id = workflow.id
    make_execution(workflow, status="COMPLETED")
    row = html(owner_client.get("/", headers=htmx()))
    assert 'hx-confirm="Delete the workflow' in row
    response = post(owner_client, f"/workflows/{workflow.id}/delete", headers=htmx({"HX-Target": f"wf-{workflow.id}"}))
    assert response.status_code == 200 and html(response) == "" and stored(workflow_id) is None


def test_delete_by_htmx_elsewhere_redirects_to_the_list(owner_client, world):
    workflow = make_workflow(world.users["owner"], "acme")
    workflow_id = workflow.id
    response = post(owner_client, f"/workflows/{workflow.id}/delete", headers=htmx())
    assert response.headers["HX-Redirect"] == "/" and stored(workflow_id) is None


def test_viewer_cannot_delete(viewer_client, world):
    workflow = make_workflow(world.users["owner"], "acme", viewers=[world.users["viewer"]])
    assert viewer_client.get(f"/workflows/{workflow.id}/delete").status_code == 403
    assert post(viewer_client, f"/workflows/{workflow.id}/delete").status_code == 403
    assert stored(workflow.id) is not None


@pytest.mark.parametrize("typed", ["invoices", "INVOICES", " Invoices "])
def test_create_refuses_a_name_differing_only_in_case(owner_client, world, typed):
    make_workflow(world.users["owner"], "acme", workflow_name="Invoices")
    response = post(owner_client, "/workflows", {"workflow_name": typed})
    page = html(response)
    assert response.status_code == 400 and "A workflow with this name already exists" in page
    assert db.session.scalar(select(func.count()).select_from(Workflow)) == 1


def test_rename_refuses_a_name_differing_only_in_case_but_keeps_its_own(owner_client, world):
    make_workflow(world.users["owner"], "acme", workflow_name="Invoices")
    mine = make_workflow(world.users["owner"], "acme", workflow_name="Receipts")
    refused = post(owner_client, f"/workflows/{mine.id}/edit", {"workflow_name": "INVOICES"})
    assert refused.status_code == 400
    assert "A workflow with this name already exists (names are compared ignoring case)." in html(refused)
    renamed = post(owner_client, f"/workflows/{mine.id}/edit", {"workflow_name": "RECEIPTS"})
    assert renamed.status_code in (200, 302, 303)
    db.session.expire_all()
    assert db.session.get(Workflow, mine.id).workflow_name == "RECEIPTS"


def test_an_old_case_twin_does_not_block_saving_the_current_name(owner_client, world):
    """Names that differ only in case may exist (made through the API); each keeps saving under its own name."""
    make_workflow(world.users["owner"], "acme", workflow_name="Invoices")
    twin = make_workflow(world.users["owner"], "acme", workflow_name="invoices")
    saved = post(owner_client, f"/workflows/{twin.id}/edit", {"workflow_name": "invoices", "description": "x"})
    assert saved.status_code in (200, 302, 303)
