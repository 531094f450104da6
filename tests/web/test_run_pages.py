"""Workflow detail page, Run: upload and run (API source), run the source folder, start step by step."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from sqlalchemy import select

from tests.factories import add_tool, configure, make_connector, make_execution, make_workflow
from tests.web.web_client import html, htmx, is_full_page, post, web_login
from unstract.extensions import db
from unstract.models import Execution

EXECUTION_URL = re.compile(r"^/executions/([0-9a-f-]{36})$")


@pytest.fixture
def api_workflow(workflow):
    configure(workflow, "SOURCE", "API")
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "text_extractor")
    return workflow


@pytest.fixture
def folder_workflow(workflow, storage_root):
    (storage_root / "inbox").mkdir()
    (storage_root / "inbox" / "a.txt").write_text("Invoice 1")
    inbox = {"path": str(storage_root / "inbox")}
    connector = make_connector(workflow.organization_id, "Inbox", "local_storage", inbox)
    configure(workflow, "SOURCE", "FILESYSTEM", connector)
    configure(workflow, "DESTINATION", "FILESYSTEM", connector, outputFolder="out")
    add_tool(workflow, "text_extractor")
    return workflow


def files(*named: tuple[str, bytes]) -> list:
    return [(io.BytesIO(content), name) for name, content in named]


def execution_from(url: str) -> Execution:
    match = EXECUTION_URL.match(url)
    assert match, url
    db.session.expire_all()
    return db.session.get(Execution, uuid.UUID(match.group(1)))


def executions() -> list[Execution]:
    db.session.expire_all()
    return list(db.session.scalars(select(Execution)))


def test_uploading_files_starts_a_queued_execution_and_opens_it(owner_client, api_workflow):
    data = {"files": files(("a.txt", b"hello"), ("b.txt", b"world"))}
    response = post(owner_client, f"/workflows/{api_workflow.id}/run", data, headers=htmx(),
                    content_type="multipart/form-data")
    assert response.status_code == 200
    execution = execution_from(response.headers["HX-Redirect"])
    assert execution.workflow_id == api_workflow.id and execution.status == "PENDING"
    assert execution.execution_mode == "QUEUE" and execution.execution_type == "COMPLETE"
    assert [upload["name"] for upload in execution.plan["uploads"]] == ["a.txt", "b.txt"]


def test_running_the_source_folder_by_a_plain_form_redirects_with_303(owner_client, folder_workflow):
    response = post(owner_client, f"/workflows/{folder_workflow.id}/run",
                    {"history_choice": "1", "use_file_history": "true"})
    assert response.status_code == 303
    execution = execution_from(response.headers["Location"])
    assert execution.use_file_history is True and execution.plan is None


def test_unchecking_file_history_runs_every_file_again(owner_client, folder_workflow):
    response = post(owner_client, f"/workflows/{folder_workflow.id}/run", {"history_choice": "1"}, headers=htmx())
    assert execution_from(response.headers["HX-Redirect"]).use_file_history is False


def test_start_step_by_step_creates_a_step_execution(owner_client, folder_workflow):
    response = post(owner_client, f"/workflows/{folder_workflow.id}/run",
                    {"history_choice": "1", "execution_action": "START"}, headers=htmx())
    assert execution_from(response.headers["HX-Redirect"]).execution_type == "STEP"


@pytest.mark.parametrize("setup, data, message", [
    ("none", {}, "The source connection type is missing."),
    ("inactive", {}, "Workflow is inactive."),
    ("api", {}, "At least one file is required when the source is API."),
    ("api", {"files": [(io.BytesIO(b"x"), "tool.exe")]}, "Unsupported file type: tool.exe."),
    ("api", {"files": [(io.BytesIO(b"x"), "C:\\Users\\me\\tool.exe")]}, "Unsupported file type: tool.exe."),
    ("folder", {"files": [(io.BytesIO(b"x"), "a.txt")]},
     "File uploads are allowed only when the workflow source is API."),
])
def test_refusals_are_shown_in_the_run_section_and_nothing_starts(owner_client, workflow, storage_root, setup, data,
                                                                   message):
    if setup in ("api", "inactive"):
        configure(workflow, "SOURCE", "API")
        configure(workflow, "DESTINATION", "API")
        workflow.is_active = setup != "inactive"
        db.session.commit()
    elif setup == "folder":
        (storage_root / "in").mkdir()
        connector = make_connector(workflow.organization_id, "In", "local_storage", {"path": str(storage_root / "in")})
        configure(workflow, "SOURCE", "FILESYSTEM", connector)
        configure(workflow, "DESTINATION", "API")
    response = post(owner_client, f"/workflows/{workflow.id}/run", data, headers=htmx(),
                    content_type="multipart/form-data")
    fragment = html(response)
    assert response.status_code == 400 and fragment.lstrip().startswith('<section id="run"')
    assert message in fragment and executions() == []


def test_a_refusal_by_a_plain_form_shows_the_whole_page(owner_client, workflow):
    response = post(owner_client, f"/workflows/{workflow.id}/run", {})
    assert response.status_code == 400 and is_full_page(html(response))
    assert "The source connection type is missing." in html(response)


def test_throttled_runs_show_their_message_in_the_section(make_app, world, folder_workflow):
    app = make_app(UNSTRACT_MAX_PENDING_EXECUTIONS=1)
    client = app.test_client()
    client.csrf = web_login(client, "owner@acme.test")
    make_execution(folder_workflow, status="PENDING")
    response = post(client, f"/workflows/{folder_workflow.id}/run", {"history_choice": "1"}, headers=htmx())
    assert response.status_code == 200 and "Too many queued executions; retry later." in html(response)
    assert post(client, f"/workflows/{folder_workflow.id}/run", {"history_choice": "1"}).status_code == 429


@pytest.mark.parametrize("email, status", [
    ("viewer@acme.test", 200), ("admin@acme.test", 200), ("member@acme.test", 404), ("outsider@other.test", 404),
])
def test_whoever_sees_the_workflow_may_run_it(client, world, folder_workflow, email, status):
    client.csrf = web_login(client, email)
    response = post(client, f"/workflows/{folder_workflow.id}/run", {"history_choice": "1"}, headers=htmx())
    assert response.status_code == status
    assert len(executions()) == (1 if status == 200 else 0)


def test_run_section_offers_uploads_for_api_sources_and_run_now_for_folders(owner_client, api_workflow, world):
    page = html(owner_client.get(f"/workflows/{api_workflow.id}")).split('id="run"')[1]
    assert 'type="file" name="files" multiple' in page and 'enctype="multipart/form-data"' in page
    assert 'accept=".bmp,.csv,' in page and 'value="START"' in page
    other = make_workflow(world.users["owner"], "acme")
    assert "Choose a source first" in html(owner_client.get(f"/workflows/{other.id}"))


def test_run_section_for_a_folder_source_has_run_now_and_the_history_choice(owner_client, folder_workflow):
    page = html(owner_client.get(f"/workflows/{folder_workflow.id}")).split('id="run"')[1]
    assert ">Run now</button>" in page and 'name="use_file_history" value="true" checked' in page
    assert 'type="file"' not in page


# --- What is missing, said before Run is clicked ----------------------------------------------------

def _missing_notice(page: str) -> str:
    match = re.search(r'<div class="notice notice-warning" role="note" id="run-missing">(.*?)</div></div>', page, re.S)
    return match.group(1) if match else ""


def test_the_run_card_lists_what_is_missing_before_anyone_clicks_run(owner_client, workflow, storage_root):
    notice = _missing_notice(html(owner_client.get(f"/workflows/{workflow.id}")))
    assert "Not ready to run yet." in notice
    assert re.findall(r"<li>(.*?) <a href=\"#(\w+)\">", notice) == [
        ("The source connection type is missing.", "source"),
        ("The destination connection type is missing.", "destination")]
    (storage_root / "in").mkdir()
    connector = make_connector(workflow.organization_id, "In", "local_storage", {"path": str(storage_root / "in")})
    configure(workflow, "SOURCE", "FILESYSTEM", connector)
    configure(workflow, "DESTINATION", "FILESYSTEM", None, outputFolder="out")
    notice = _missing_notice(html(owner_client.get(f"/workflows/{workflow.id}")))
    assert re.findall(r"<li>(.*?) <a href=\"#(\w+)\">", notice) == [
        ("The destination connector is not configured.", "destination")]


def test_a_runnable_workflow_has_no_missing_notice(owner_client, folder_workflow):
    page = html(owner_client.get(f"/workflows/{folder_workflow.id}"))
    assert 'id="run-missing"' not in page and 'id="destination-missing"' not in page and ">Run now</button>" in page
