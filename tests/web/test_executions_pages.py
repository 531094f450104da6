"""Executions pages: the per-workflow list, the live execution page and its partials (issue 4 item 4)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from tests.factories import make_execution, make_file_execution, make_workflow
from tests.web.web_client import PageUser
from tests.web.web_client import html as text
from unstract.extensions import db
from unstract.models import Execution
from unstract.sizes import LIST_RESULT_BYTES, json_size

XSS_NAME = "<img src=x onerror=alert(1)>.txt"
LOG_ROW = re.compile(r'<li class="log-line[^"]*" data-id="(\d+)"')


def as_user(app, email: str | None = None) -> PageUser:
    return PageUser(app, email)


def page(user: PageUser, url: str, *, fragment: bool = False):
    return user.get(url, fragment=fragment)


def post(user: PageUser, url: str, data: dict, *, fragment: bool = False, token: bool = True):
    return user.post(url, data, fragment=fragment, token=token)


def log_ids(response) -> list[int]:
    return [int(i) for i in LOG_ROW.findall(text(response))]


def fresh(execution_id) -> Execution:
    db.session.rollback()
    return db.session.get(Execution, execution_id, populate_existing=True)


@pytest.fixture
def running(workflow):
    execution = make_execution(workflow, status="EXECUTING", phase="PROCESSING", total_files=2)
    done = make_file_execution(execution, status="COMPLETED", file_name=XSS_NAME, execution_time=0.42)
    make_file_execution(execution, status="EXECUTING", file_name="b.txt")
    execution.successful_files = 1
    db.session.commit()
    return SimpleNamespace(execution=execution, done=done)


# --- The list of a workflow's executions -------------------------------------------------------

def test_list_serves_the_full_page_or_only_the_list_fragment(owner, workflow):
    make_execution(workflow, status="COMPLETED")
    full = page(owner, f"/workflows/{workflow.id}/executions")
    fragment = page(owner, f"/workflows/{workflow.id}/executions", fragment=True)
    assert full.status_code == fragment.status_code == 200
    assert "<html" in text(full) and 'id="execution-list"' in text(full) and "Status</legend>" in text(full)
    assert "<html" not in text(fragment) and text(fragment).lstrip().startswith('<section id="execution-list"')
    assert "Status</legend>" not in text(fragment)


def test_list_filters_by_status_with_badges(owner, workflow):
    failed = make_execution(workflow, status="ERROR")
    stopped = make_execution(workflow, status="STOPPED")
    completed = make_execution(workflow, status="COMPLETED")
    body = text(page(owner, f"/workflows/{workflow.id}/executions?status=ERROR&status=STOPPED", fragment=True))
    assert str(failed.id) in body and str(stopped.id) in body and str(completed.id) not in body
    assert '<span class="badge status-error">ERROR</span>' in body and "2 executions" in body
    comma = text(page(owner, f"/workflows/{workflow.id}/executions?status=COMPLETED,ERROR"))
    assert str(completed.id) in comma and str(stopped.id) not in comma
    assert 'value="COMPLETED" checked' in comma


def test_list_rejects_an_unknown_status_inline(owner, workflow):
    response = page(owner, f"/workflows/{workflow.id}/executions?status=DONE", fragment=True)
    assert response.status_code == 400
    assert "Status: &#34;DONE&#34; is not a valid choice." in text(response)


def test_list_pages_newest_first_and_clamps_past_the_end(owner, workflow):
    ids = [make_execution(workflow, status="COMPLETED").id for _ in range(27)]
    first = text(page(owner, f"/workflows/{workflow.id}/executions"))
    last = text(page(owner, f"/workflows/{workflow.id}/executions?page=9", fragment=True))
    assert "Page 1 of 2" in first and "27 executions" in first
    assert "Page 2 of 2" in last and last.count('href="/executions/') == 2
    assert page(owner, f"/workflows/{workflow.id}/executions?page=x").status_code == 200
    assert set(re.findall(r'href="/executions/([0-9a-f-]{36})"', first + last)) == {str(i) for i in ids}


def test_list_polls_only_while_an_execution_on_it_runs(owner, workflow):
    execution = make_execution(workflow, status="EXECUTING")
    assert 'hx-trigger="every 2s"' in text(page(owner, f"/workflows/{workflow.id}/executions", fragment=True))
    execution.status = "COMPLETED"
    db.session.commit()
    assert "hx-trigger" not in text(page(owner, f"/workflows/{workflow.id}/executions", fragment=True))


def test_list_is_for_owners_like_the_api(app, world, workflow):
    shared = make_workflow(world.users["owner"], "acme", shared_to_org=True)
    expected = {"owner@acme.test": 200, "admin@acme.test": 200, "viewer@acme.test": 403,
                "outsider@other.test": 404}
    for email, status in expected.items():
        assert page(as_user(app, email), f"/workflows/{workflow.id}/executions").status_code == status, email
    member = as_user(app, "member@acme.test")
    assert page(member, f"/workflows/{shared.id}/executions").status_code == 403
    assert page(member, f"/workflows/{workflow.id}/executions").status_code == 404
    anonymous = as_user(app).get(f"/workflows/{workflow.id}/executions")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_an_api_key_does_not_open_the_pages(app, world, workflow):
    key = world.api("owner", "read").token
    execution = make_execution(workflow, status="COMPLETED")
    done = make_file_execution(execution, status="COMPLETED", result={})
    for url in (f"/workflows/{workflow.id}/executions", f"/executions/{execution.id}/files/{done.id}"):
        response = as_user(app).get(url, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_malformed_ids_are_not_found(owner):
    assert page(owner, "/workflows/not-a-uuid/executions").status_code == 404
    assert page(owner, "/executions/not-a-uuid").status_code == 404


# --- The execution page: header and file table -------------------------------------------------

def test_detail_serves_the_full_page_or_only_the_live_fragment(viewer, running):
    url = f"/executions/{running.execution.id}"
    full, fragment = text(page(viewer, url)), text(page(viewer, url, fragment=True))
    assert "<html" in full and 'id="live"' in full and 'id="log-panel"' in full and "js/logs.js" in full
    assert fragment.lstrip().startswith('<div id="live"') and "<html" not in fragment
    assert 'id="log-panel"' not in fragment


def test_live_fragment_polls_every_second_until_the_execution_is_terminal(viewer, running):
    url = f"/executions/{running.execution.id}"
    assert 'hx-trigger="every 1s"' in text(page(viewer, url, fragment=True))
    running.execution.status = "COMPLETED"
    running.execution.execution_time = 3.25
    db.session.commit()
    body = text(page(viewer, url, fragment=True))
    assert 'hx-trigger="every 1s"' not in body and "3.25 s" in body and 'id="action-stop"' not in body


def test_header_shows_status_counts_and_elapsed_time(viewer, running):
    body = text(page(viewer, f"/executions/{running.execution.id}", fragment=True))
    assert '<span class="badge status-executing">EXECUTING</span>' in body
    assert '<dd id="stat-total">2</dd>' in body and '<dd id="stat-ok">1</dd>' in body
    assert '<dd id="stat-failed">0</dd>' in body and re.search(r'id="stat-elapsed">[\d.]+ s<', body)
    assert 'value="1"' in body and "0.42 s" in body


def test_file_names_render_as_text(viewer, running):
    body = text(page(viewer, f"/executions/{running.execution.id}"))
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in body and XSS_NAME not in body


@pytest.mark.parametrize("destination", ["API", "FILESYSTEM", "DATABASE"])
def test_results_are_pretty_json_for_every_destination(viewer, running, destination):
    running.done.result = {"invoice": "<b>INV-1</b>", "total": 12.5}
    running.execution.plan = {"destination": {"connection_type": destination}}
    db.session.commit()
    body = text(page(viewer, f"/executions/{running.execution.id}", fragment=True))
    assert '<details id="result-' in body and 'hx-preserve="true"' in body
    assert re.search(r"<pre>\{\n  &#34;", body)  # indented, escaped (key order is the database's)
    assert '\n  &#34;invoice&#34;: &#34;&lt;b&gt;INV-1&lt;/b&gt;&#34;' in body and '\n  &#34;total&#34;: 12.5' in body
    assert f'href="/executions/{running.execution.id}/files/{running.done.id}"' in body  # the viewer


def test_step_execution_awaiting_an_action_offers_next_and_continue(viewer, workflow):
    execution = make_execution(workflow, status="EXECUTING", execution_type="STEP", phase="AWAITING_ACTION",
                               awaiting_action=True, next_step=2, total_steps=3)
    body = text(page(viewer, f"/executions/{execution.id}", fragment=True))
    assert 'id="action-next"' in body and 'id="action-continue"' in body and 'id="action-stop"' in body
    assert "Waiting for an action before step 2 of 3." in body
    execution.awaiting_action = False
    db.session.commit()
    body = text(page(viewer, f"/executions/{execution.id}", fragment=True))
    assert 'id="action-next"' not in body and 'id="action-stop"' in body


def test_files_table_pages_past_one_hundred_files(viewer, workflow):
    execution = make_execution(workflow, status="COMPLETED", total_files=101)
    for number in range(1, 102):
        make_file_execution(execution, status="COMPLETED", file_number=number, file_name=f"f{number:03d}.txt")
    first = text(page(viewer, f"/executions/{execution.id}", fragment=True))
    second = text(page(viewer, f"/executions/{execution.id}?page=2", fragment=True))
    assert "f100.txt" in first and "f101.txt" not in first and "Page 1 of 2" in first
    assert "f101.txt" in second and "f001.txt" not in second


def test_execution_page_needs_a_visible_workflow(app, world, workflow, running):
    shared = make_execution(make_workflow(world.users["owner"], "acme", shared_to_org=True))
    url = f"/executions/{running.execution.id}"
    for email in ("owner@acme.test", "viewer@acme.test", "admin@acme.test"):
        assert page(as_user(app, email), url).status_code == 200, email
    member = as_user(app, "member@acme.test")
    assert page(member, f"/executions/{shared.id}").status_code == 200
    assert page(member, url).status_code == 404
    assert page(as_user(app, "outsider@other.test"), url).status_code == 404
    assert as_user(app).get(url).status_code == 302


def test_owners_see_the_link_to_the_executions_list_and_viewers_do_not(owner, viewer, running):
    link = f'href="/workflows/{running.execution.workflow_id}/executions"'
    assert link in text(page(owner, f"/executions/{running.execution.id}"))
    assert link not in text(page(viewer, f"/executions/{running.execution.id}"))


# --- Actions: STOP, NEXT, CONTINUE -------------------------------------------------------------

def test_viewer_can_stop_a_pending_execution_and_gets_the_stopped_header(viewer, workflow):
    execution = make_execution(workflow)
    make_file_execution(execution)
    response = post(viewer, f"/executions/{execution.id}/action", {"action": "STOP"}, fragment=True)
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<div id="live"') and "status-stopped" in body and "hx-trigger" not in body
    assert fresh(execution.id).status == "STOPPED"


def test_stop_without_htmx_redirects_back_to_the_execution(viewer, workflow):
    execution = make_execution(workflow)
    response = post(viewer, f"/executions/{execution.id}/action", {"action": "STOP"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/executions/{execution.id}")
    assert fresh(execution.id).status == "STOPPED"


def test_stopping_a_finished_execution_says_so_inline(viewer, workflow):
    execution = make_execution(workflow, status="COMPLETED")
    response = post(viewer, f"/executions/{execution.id}/action", {"action": "STOP"}, fragment=True)
    assert response.status_code == 400
    assert "cannot take that action any more" in text(response) and 'id="live"' in text(response)
    full = post(viewer, f"/executions/{execution.id}/action", {"action": "STOP"})
    assert full.status_code == 400 and "<html" in text(full) and "cannot take that action" in text(full)


def test_unknown_action_is_refused(viewer, workflow):
    execution = make_execution(workflow)
    response = post(viewer, f"/executions/{execution.id}/action", {"action": "stop"}, fragment=True)
    assert response.status_code == 400 and "&#34;stop&#34; is not a valid choice." in text(response)
    assert fresh(execution.id).status == "PENDING"


def test_next_resumes_a_paused_step_execution(viewer, workflow):
    execution = make_execution(workflow, status="EXECUTING", execution_type="STEP", phase="AWAITING_ACTION",
                               awaiting_action=True, next_step=1, total_steps=2, plan={"tools": []})
    response = post(viewer, f"/executions/{execution.id}/action", {"action": "NEXT"}, fragment=True)
    assert response.status_code == 200 and 'id="action-next"' not in text(response)
    row = fresh(execution.id)
    assert row.awaiting_action is False and row.phase == "RUNNING_STEP" and row.plan["run_to_end"] is False


def test_continue_on_a_busy_step_execution_reports_the_conflict(viewer, workflow):
    execution = make_execution(workflow, status="EXECUTING", execution_type="STEP", phase="RUNNING_STEP")
    response = post(viewer, f"/executions/{execution.id}/action", {"action": "CONTINUE"}, fragment=True)
    assert response.status_code == 409
    assert "The execution is running a step; retry when it awaits an action." in text(response)


def test_action_without_csrf_token_changes_nothing(viewer, workflow):
    execution = make_execution(workflow)
    response = post(viewer, f"/executions/{execution.id}/action", {"action": "STOP"}, token=False)
    assert response.status_code == 400
    assert fresh(execution.id).status == "PENDING"


def test_actions_need_a_visible_workflow(app, world, workflow):
    execution = make_execution(workflow)
    for email, status in (("member@acme.test", 404), ("outsider@other.test", 404)):
        user = as_user(app, email)
        assert post(user, f"/executions/{execution.id}/action", {"action": "STOP"}).status_code == status
    assert fresh(execution.id).status == "PENDING"
    anonymous = as_user(app).post(f"/executions/{execution.id}/action", {"action": "STOP"}, token=False)
    assert anonymous.status_code == 400  # the CSRF check comes first; without a session there is no token
    assert fresh(execution.id).status == "PENDING"


def test_a_result_above_the_list_bound_is_named_not_shown(viewer, running):
    running.done.result = {"text": "x" * LIST_RESULT_BYTES}
    running.execution.plan = {"destination": {"connection_type": "API"}}
    db.session.commit()
    body = text(page(viewer, f"/executions/{running.execution.id}", fragment=True))
    size = json_size(running.done.result)
    assert "<details" not in body and "x" * 1000 not in body
    assert f"Result of {size:,} bytes: too large to show here; open it in the viewer." in body


# --- Retrying failed files -----------------------------------------------------------------------

def test_retry_button_queues_a_retry_and_both_pages_link_each_other(owner, world, storage_root):
    from tests.factories import add_tool, configure, make_connector

    (storage_root / "in").mkdir()
    connector = make_connector("acme", "Retry inbox", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], "acme")
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "text_extractor")
    failed = make_execution(workflow, status="COMPLETED", total_files=2, successful_files=1, failed_files=1)
    make_file_execution(failed, status="COMPLETED", file_path="in/a.txt")
    make_file_execution(failed, status="ERROR", file_path="in/b.txt", execution_error="boom")
    before = text(page(owner, f"/executions/{failed.id}"))
    assert 'id="action-retry"' in before and "Retried by" not in before

    response = post(owner, f"/executions/{failed.id}/retry", {})
    assert response.status_code == 303
    retry = db.session.scalar(db.select(Execution).where(Execution.retry_of == failed.id))
    assert response.headers["Location"].endswith(f"/executions/{retry.id}")
    new_page = text(page(owner, f"/executions/{retry.id}"))
    assert f'href="/executions/{failed.id}"' in new_page and "Retry of" in new_page
    assert 'id="action-retry"' not in new_page  # not ended yet
    old_page = text(page(owner, f"/executions/{failed.id}"))
    assert "Retried by" in old_page and f'href="/executions/{retry.id}"' in old_page


def test_retry_refusals_are_shown_on_the_page(owner, workflow):
    clean = make_execution(workflow, status="COMPLETED", total_files=1, successful_files=1)
    make_file_execution(clean, status="COMPLETED")
    assert 'id="action-retry"' not in text(page(owner, f"/executions/{clean.id}"))
    refused = post(owner, f"/executions/{clean.id}/retry", {})
    assert refused.status_code == 400 and "nothing to retry" in text(refused)


def test_execution_page_links_the_result_downloads_and_they_work_with_the_session(owner, workflow):
    execution = make_execution(workflow, status="COMPLETED", total_files=1, successful_files=1)
    done = make_file_execution(execution, status="COMPLETED", result={"total": 5})
    html = text(page(owner, f"/executions/{execution.id}"))
    base = f"/api/v1/unstract/acme/workflow/execution/{execution.id}/"
    for fmt in ("json", "jsonl", "csv"):
        assert f'href="{base}results/?format={fmt}"' in html
    assert f'href="{base}files/{done.id}/result/"' in html
    csv_text = text(owner.get(f"{base}results/?format=csv"))
    assert csv_text.splitlines()[1].endswith(",COMPLETED,,5")


def test_retry_post_needs_the_csrf_token_and_a_visible_workflow(app, owner, workflow):
    failed = make_execution(workflow, status="ERROR", total_files=1, failed_files=1)
    make_file_execution(failed, status="ERROR")
    assert post(owner, f"/executions/{failed.id}/retry", {}, token=False).status_code == 400
    assert post(as_user(app, "member@acme.test"), f"/executions/{failed.id}/retry", {}).status_code == 404
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)
                             .where(Execution.retry_of == failed.id)) == 0


# --- Finding the failed files --------------------------------------------------------------------

@pytest.fixture
def big_run(workflow):
    """3,204 files of which 4 failed, spread over the 33 pages of the file list."""
    from sqlalchemy import insert

    from unstract.models import FileExecution

    execution = make_execution(workflow, status="COMPLETED", total_files=3204, successful_files=3200, failed_files=4)
    failed_numbers = {7, 1500, 2999, 3204}
    db.session.execute(insert(FileExecution), [
        {"execution_id": execution.id, "file_number": n, "file_name": f"invoice-{n:04}.pdf",
         "file_path": f"in/invoice-{n:04}.pdf", "file_hash": f"{n:064x}", "mime_type": "application/pdf",
         "status": "ERROR" if n in failed_numbers else "COMPLETED",
         "execution_error": "Extraction failed: <script>alert(1)</script>" if n in failed_numbers else ""}
        for n in range(1, 3205)])
    db.session.commit()
    return SimpleNamespace(execution=execution, failed=sorted(failed_numbers))


FILE_ROW = re.compile(r'<tr id="file-[0-9a-f-]+" data-status="\w+">\s*<td class="num">(\d+)</td>')


def row_numbers(body: str) -> list[int]:
    return [int(n) for n in FILE_ROW.findall(body)]


def test_the_status_filter_lists_only_the_failed_files_of_a_big_run(viewer, big_run):
    url = f"/executions/{big_run.execution.id}"
    assert "Page 1 of 33" in text(page(viewer, url, fragment=True))
    body = text(page(viewer, f"{url}?file_status=ERROR", fragment=True))
    assert row_numbers(body) == big_run.failed and "4 files match these filters." in body
    assert "Extraction failed: &lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert" not in body
    assert 'name="file_status"' in body and '<option value="ERROR" selected>' in body


def test_failed_first_puts_the_failures_on_page_one_and_paging_keeps_the_filters(viewer, big_run):
    url = f"/executions/{big_run.execution.id}?failed_first=1"
    first = text(page(viewer, url, fragment=True))
    assert row_numbers(first)[:5] == [*big_run.failed, 1] and 'id="failed-first" value="1" checked' in first
    assert "Page 1 of 33" in first
    next_link = re.search(r'<a class="button secondary small" href="([^"]+)" rel="next">', first).group(1)
    assert "failed_first=1" in next_link and "page=2" in next_link
    second = text(page(viewer, next_link.replace("&amp;", "&"), fragment=True))
    assert row_numbers(second)[0] == 98  # 100 rows per page: 4 failures, then files 1 to 97 but 7
    named = text(page(viewer, f"/executions/{big_run.execution.id}?file_name=INVOICE-15&file_status=ERROR",
                      fragment=True))
    assert row_numbers(named) == [1500]
    wide = text(page(viewer, f"/executions/{big_run.execution.id}?file_name=invoice-1", fragment=True))
    assert row_numbers(wide)[0] == 1000 and "1,000 files match these filters." in wide and "Page 1 of 10" in wide
    pager = re.search(r'href="([^"]+)" rel="next"', wide).group(1)
    assert "file_name=invoice-1" in pager


def test_the_live_poll_keeps_the_filters(viewer, workflow):
    execution = make_execution(workflow, status="EXECUTING", phase="PROCESSING", total_files=2)
    make_file_execution(execution, status="ERROR", file_name="bad.txt")
    make_file_execution(execution, status="EXECUTING", file_name="busy.txt")
    body = text(page(viewer, f"/executions/{execution.id}?file_status=ERROR&file_name=bad", fragment=True))
    poll = re.search(r'<div id="live"[^>]*hx-get="([^"]+)"', body).group(1).replace("&amp;", "&")
    assert "file_status=ERROR" in poll and "file_name=bad" in poll and "page=1" in poll
    assert "bad.txt" in body and "busy.txt" not in body


def test_the_name_filter_is_literal_and_bad_filters_are_shown_inline(viewer, big_run):
    url = f"/executions/{big_run.execution.id}"
    assert row_numbers(text(page(viewer, f"{url}?file_name=invoice-%25", fragment=True))) == []
    assert "No file matches these filters." in text(page(viewer, f"{url}?file_name=_nvoice", fragment=True))
    bad_filters = (("file_status=DONE", "Status: &#34;DONE&#34; is not a valid choice"),
                   ("failed_first=yes", "Failed first: use 1"), ("file_name=" + "x" * 256, "at most 255 characters"))
    for query, message in bad_filters:
        refused = page(viewer, f"{url}?{query}", fragment=True)
        assert refused.status_code == 400 and message in text(refused) and 'id="file-filter-problem"' in text(refused)
    full = page(viewer, f"{url}?file_name=%3Cscript%3Ex")
    assert full.status_code == 200 and 'value="&lt;script&gt;x"' in text(full)


# --- Limits said out loud ---------------------------------------------------------------------------

def test_a_run_capped_by_max_files_says_how_many_files_are_left(viewer, workflow):
    capped = make_execution(workflow, status="COMPLETED", total_files=100, successful_files=100)
    capped.plan = {"capped": {"max_files": 100, "left": 3104}}
    whole = make_execution(workflow, status="COMPLETED", total_files=3, successful_files=3)
    db.session.commit()
    note = text(page(viewer, f"/executions/{capped.id}"))
    assert 'id="capped-note"' in note and "limited to 100 files" in note
    assert "up to 3,104 more matching files were" in note
    assert 'id="capped-note"' not in text(page(viewer, f"/executions/{whole.id}"))


# --- One file's result -------------------------------------------------------------------------------

def test_the_result_viewer_shows_one_file_escaped_and_folded(viewer, workflow):
    execution = make_execution(workflow, status="COMPLETED", total_files=2, successful_files=1, failed_files=1)
    deep: dict = {"leaf": 1}
    for _ in range(30):
        deep = {"d": deep}
    done = make_file_execution(execution, status="COMPLETED", file_name="a.pdf", result={
        "vendor": "<script>alert(1)</script>", "total": 3553.82, "paid": False, "note": None,
        "lines": [{"amount": 1}, {"amount": 2}], "empty": [], "deep": deep})
    failed = make_file_execution(execution, status="ERROR", file_name="b.pdf", execution_error="<b>boom</b>")
    body = text(page(viewer, f"/executions/{execution.id}/files/{done.id}"))
    assert "<script>alert" not in body
    assert '<span class="json-string">"&lt;script&gt;alert(1)&lt;/script&gt;"</span>' in body
    assert '<span class="json-number">3553.82</span>' in body and '<span class="json-bool">false</span>' in body
    assert '<span class="json-null">null</span>' in body and '<span class="json-empty">[]</span>' in body
    assert '<details class="json-node" open>' in body and "2 items" in body and "7 keys" in body
    assert '<pre class="json-deep">' in body  # nesting past the fold depth is text
    assert f'href="/api/v1/unstract/acme/workflow/execution/{execution.id}/files/{done.id}/result/"' in body
    error_page = text(page(viewer, f"/executions/{execution.id}/files/{failed.id}"))
    assert "&lt;b&gt;boom&lt;/b&gt;" in error_page and "This file has no result." in error_page
    assert 'id="download-file-json"' not in error_page


def test_the_result_viewer_is_for_the_execution_s_own_visible_files(app, viewer, workflow, world):
    execution = make_execution(workflow, status="COMPLETED")
    other = make_execution(workflow, status="COMPLETED")
    elsewhere = make_file_execution(other, status="COMPLETED", result={})
    assert page(viewer, f"/executions/{execution.id}/files/{elsewhere.id}").status_code == 404
    mine = make_file_execution(execution, status="COMPLETED", result={})
    assert page(as_user(app, "member@acme.test"), f"/executions/{execution.id}/files/{mine.id}").status_code == 404
    assert page(viewer, f"/executions/{execution.id}/files/not-a-uuid").status_code == 404


# --- Retrying one file ---------------------------------------------------------------------------------

def test_each_failed_row_retries_that_file_alone(owner, world, storage_root):
    from tests.factories import add_tool, configure, make_connector

    (storage_root / "in").mkdir()
    connector = make_connector("acme", "Row retry inbox", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], "acme")
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "text_extractor")
    run = make_execution(workflow, status="COMPLETED", total_files=3, successful_files=1, failed_files=2)
    make_file_execution(run, status="COMPLETED", file_path="in/a.txt")
    first = make_file_execution(run, status="ERROR", file_path="in/b.txt", execution_error="boom")
    second = make_file_execution(run, status="STOPPED", file_path="in/c.txt")
    body = text(page(owner, f"/executions/{run.id}"))
    row_form = r'<form method="post" action="/executions/[^"]+/retry" class="inline-form row-retry">(.*?)</form>'
    forms = re.findall(row_form, body, re.S)
    assert len(forms) == 2 and all('name="csrf_token"' in form for form in forms)
    assert f'name="file_execution_id" value="{first.id}"' in forms[0]
    assert f'name="file_execution_id" value="{second.id}"' in forms[1]

    response = post(owner, f"/executions/{run.id}/retry", {"file_execution_id": str(second.id)})
    assert response.status_code == 303
    retry = db.session.scalar(db.select(Execution).where(Execution.retry_of == run.id))
    assert [item.path for item in retry.run_plan.retry_files] == ["in/c.txt"]
    for bad, status in (("nope", 400), (str(run.id), 400)):
        refused = post(owner, f"/executions/{run.id}/retry", {"file_execution_id": bad})
        assert refused.status_code == status and 'id="action-message"' in text(refused)
    assert post(owner, f"/executions/{run.id}/retry", {"file_execution_id": str(first.id)}, token=False
                ).status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)
                             .where(Execution.retry_of == run.id)) == 1


def test_running_executions_offer_no_row_retry(viewer, running):
    make_file_execution(running.execution, status="ERROR", file_name="bad.txt")
    assert "row-retry" not in text(page(viewer, f"/executions/{running.execution.id}"))
