"""File history page: filters, paging, delete one, bulk clear after a dry run, clear all markers (issue 4 item 5)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.factories import make_histories, make_history, make_workflow
from tests.web.web_client import PageUser
from tests.web.web_client import html as text
from unstract.extensions import db
from unstract.models import FileHistory

ROW = re.compile(r'<tr id="history-([0-9a-f-]{36})"')


def rows(response) -> list[str]:
    return ROW.findall(text(response))


def remaining(workflow) -> int:
    db.session.rollback()
    query = select(func.count()).select_from(FileHistory).where(FileHistory.workflow_id == workflow.id)
    return db.session.scalar(query)


def url(workflow, tail: str = "") -> str:
    return f"/workflows/{workflow.id}/history{tail}"


# --- Listing -----------------------------------------------------------------------------------

def test_history_serves_the_full_page_or_only_the_results_fragment(owner, workflow):
    row = make_history(workflow, file_path="in/a.txt")
    full, fragment = owner.get(url(workflow)), owner.get(url(workflow), fragment=True)
    assert full.status_code == fragment.status_code == 200
    assert "<html" in text(full) and 'id="history-filters"' in text(full) and 'id="markers"' in text(full)
    assert text(fragment).lstrip().startswith('<section id="history-results"') and "<html" not in text(fragment)
    assert 'id="history-filters"' not in text(fragment)
    assert rows(full) == rows(fragment) == [str(row.id)]


def test_filters_match_the_api(owner, workflow):
    failed = make_history(workflow, file_path="Invoices/2026/a.pdf", status="ERROR", execution_count=3)
    make_history(workflow, file_path="invoices/2026/b.pdf", status="COMPLETED", execution_count=1)
    make_history(workflow, file_path="invoices/2026/c.pdf", status="ERROR", execution_count=1)
    make_history(workflow, file_path="receipts/d.pdf", status="ERROR", execution_count=5)
    make_history(workflow, file_path=None, status="ERROR", execution_count=4)
    query = "?status=ERROR&execution_count_min=2&execution_count_max=4&file_path=INVOICES/"
    response = owner.get(url(workflow, query), fragment=True)
    assert rows(response) == [str(failed.id)] and "1 entry matches these filters" in text(response)
    assert len(rows(owner.get(url(workflow, "?status=ERROR,COMPLETED"), fragment=True))) == 5
    assert len(rows(owner.get(url(workflow, "?file_path=invoices"), fragment=True))) == 3


def test_path_prefix_treats_like_wildcards_literally(owner, workflow):
    literal = make_history(workflow, file_path="in/50%_off.txt")
    make_history(workflow, file_path="in/50xx_off.txt")
    assert rows(owner.get(url(workflow, "?file_path=in/50%25_"), fragment=True)) == [str(literal.id)]


def test_ordering_choices_sort_the_rows(owner, workflow):
    b = make_history(workflow, file_path="b.txt", execution_count=1)
    a = make_history(workflow, file_path="a.txt", execution_count=2)
    assert rows(owner.get(url(workflow), fragment=True)) == [str(a.id), str(b.id)]  # newest first
    assert rows(owner.get(url(workflow, "?ordering=file_path"), fragment=True)) == [str(a.id), str(b.id)]
    assert rows(owner.get(url(workflow, "?ordering=-execution_count"), fragment=True))[0] == str(a.id)
    assert rows(owner.get(url(workflow, "?ordering=bogus"), fragment=True)) == [str(a.id), str(b.id)]


@pytest.mark.parametrize(("query", "message"), [
    ("?status=DONE", "Status: &#34;DONE&#34; is not a valid choice."),
    ("?execution_count_min=x", "Execution count from: A valid integer is required."),
    ("?execution_count_max=-1", "Execution count to: Ensure this value is greater than or equal to 0."),
])
def test_bad_filters_are_shown_inline(owner, workflow, query, message):
    make_history(workflow)
    for fragment in (True, False):
        response = owner.get(url(workflow, query), fragment=fragment)
        assert response.status_code == 400 and message in text(response) and rows(response) == []
    assert 'aria-invalid="true"' in text(owner.get(url(workflow, "?execution_count_min=x")))


def test_history_pages_by_fifty(owner, workflow):
    make_histories(workflow, 60)
    first = owner.get(url(workflow, "?status=COMPLETED"))
    second = owner.get(url(workflow, "?status=COMPLETED&page=2"), fragment=True)
    assert len(rows(first)) == 50 and len(rows(second)) == 10 and "Page 2 of 2" in text(second)
    assert "page=2" in text(first) and "status=COMPLETED" in text(first).split('rel="next"')[0].rsplit("href=", 1)[1]


def test_paths_and_errors_render_as_text(owner, workflow):
    make_history(workflow, file_path="in/<img src=x onerror=alert(1)>.txt", status="ERROR", error="<b>bad</b>")
    body = text(owner.get(url(workflow)))
    assert "in/&lt;img src=x onerror=alert(1)&gt;.txt" in body and "&lt;b&gt;bad&lt;/b&gt;" in body
    assert "<img src=x" not in body


def test_history_needs_a_visible_workflow(app, world, workflow):
    shared = make_workflow(world.users["owner"], "acme", shared_to_org=True)
    for email in ("owner@acme.test", "viewer@acme.test", "admin@acme.test"):
        assert PageUser(app, email).get(url(workflow)).status_code == 200, email
    member = PageUser(app, "member@acme.test")
    assert member.get(url(shared)).status_code == 200 and member.get(url(workflow)).status_code == 404
    assert PageUser(app, "outsider@other.test").get(url(workflow)).status_code == 404
    assert PageUser(app).get(url(workflow)).status_code == 302


def test_viewers_see_no_delete_or_clear_controls(owner, viewer, workflow):
    make_history(workflow, status="ERROR")
    owner_page = text(owner.get(url(workflow, "?status=ERROR")))
    viewer_page = text(viewer.get(url(workflow, "?status=ERROR")))
    for control in ('id="clear-matching"', 'id="markers"', ">Delete<"):
        assert control in owner_page and control not in viewer_page


# --- Deleting one entry ------------------------------------------------------------------------

def test_delete_asks_first_inline_then_cancel_restores_the_row(owner, workflow):
    row = make_history(workflow, file_path="in/a.txt")
    confirm = owner.get(url(workflow, f"/{row.id}/delete"), fragment=True)
    assert text(confirm).lstrip().startswith(f'<tr id="history-{row.id}" class="row-confirm"')
    assert "Delete the history of <strong>in/a.txt</strong>?" in text(confirm)
    cancel = owner.get(url(workflow, f"/{row.id}"), fragment=True)
    assert text(cancel).lstrip().startswith(f'<tr id="history-{row.id}">') and remaining(workflow) == 1
    page = owner.get(url(workflow, f"/{row.id}/delete"))
    assert "<html" in text(page) and "Delete this history entry?" in text(page)


def test_delete_removes_the_row_and_refreshes_the_list(owner, workflow):
    gone, kept = make_history(workflow, file_path="in/a.txt"), make_history(workflow, file_path="in/b.txt")
    response = owner.post(url(workflow, f"/{gone.id}/delete"), {"page": "1"}, fragment=True)
    assert response.status_code == 200 and rows(response) == [str(kept.id)]
    assert "Deleted the history of in/a.txt" in text(response) and remaining(workflow) == 1


def test_delete_without_htmx_redirects_with_a_message(owner, workflow):
    row = make_history(workflow, file_path="in/a.txt", status="ERROR")
    response = owner.post(url(workflow, f"/{row.id}/delete"), {"status": "ERROR"})
    assert response.status_code == 303 and response.headers["Location"].endswith(url(workflow, "?status=ERROR"))
    assert "Deleted the history of in/a.txt" in text(owner.get(response.headers["Location"]))


def test_viewer_cannot_delete_and_other_workflows_rows_are_not_found(owner, viewer, world, workflow):
    row = make_history(workflow)
    other = make_history(make_workflow(world.users["owner"], "acme"))
    assert viewer.post(url(workflow, f"/{row.id}/delete")).status_code == 403
    assert viewer.get(url(workflow, f"/{row.id}/delete")).status_code == 403
    assert owner.post(url(workflow, f"/{other.id}/delete")).status_code == 404
    assert owner.get(url(workflow, f"/{other.id}")).status_code == 404
    assert remaining(workflow) == 1


def test_entry_page_shows_result_and_metadata(viewer, workflow):
    row = make_history(workflow, file_path="in/a.txt", result={"total": "<b>12</b>"})
    body = text(viewer.get(url(workflow, f"/{row.id}")))
    assert "&#34;total&#34;: &#34;&lt;b&gt;12&lt;/b&gt;&#34;" in body and row.cache_key in body
    assert "Delete…" not in body


# --- Bulk clear --------------------------------------------------------------------------------

def test_bulk_clear_shows_the_dry_run_count_then_deletes(owner, workflow):
    make_histories(workflow, 12408, status="ERROR")
    keep = make_history(workflow, status="COMPLETED")
    dry = owner.post(url(workflow, "/clear"), {"status": "ERROR"}, fragment=True)
    assert dry.status_code == 200 and "12,408 entries will be deleted." in text(dry)
    assert 'name="confirm" value="yes"' in text(dry) and remaining(workflow) == 12409
    done = owner.post(url(workflow, "/clear"), {"status": "ERROR", "confirm": "yes"}, fragment=True)
    assert done.status_code == 200 and "12,408 entries deleted." in text(done)
    assert rows(done) == [] and remaining(workflow) == 1
    assert rows(owner.get(url(workflow), fragment=True)) == [str(keep.id)]


def test_bulk_clear_uses_every_filter(owner, workflow):
    target = make_history(workflow, file_path="in/x.txt", status="ERROR", execution_count=3).id
    make_history(workflow, file_path="in/y.txt", status="ERROR", execution_count=1)
    make_history(workflow, file_path="out/z.txt", status="ERROR", execution_count=3)
    data = {"status": "ERROR", "execution_count_min": "2", "execution_count_max": "3", "file_path": "IN/"}
    assert "1 entry will be deleted." in text(owner.post(url(workflow, "/clear"), data, fragment=True))
    owner.post(url(workflow, "/clear"), {**data, "confirm": "yes"}, fragment=True)
    db.session.rollback()
    assert db.session.get(FileHistory, target) is None and remaining(workflow) == 2


def test_bulk_clear_without_a_filter_or_with_a_bad_one_is_refused(owner, workflow):
    make_history(workflow)
    none = owner.post(url(workflow, "/clear"), {"confirm": "yes"}, fragment=True)
    assert none.status_code == 400 and "At least one filter (ids, status, execution_count_min" in text(none)
    assert none.headers["HX-Retarget"] == "#clear-confirm"
    bad = owner.post(url(workflow, "/clear"), {"execution_count_min": "-3", "confirm": "yes"}, fragment=True)
    assert bad.status_code == 400 and "Ensure this value is greater than or equal to 0." in text(bad)
    assert remaining(workflow) == 1


def test_bulk_clear_without_htmx_confirms_on_a_page_then_redirects(owner, workflow):
    make_histories(workflow, 3, status="ERROR")
    dry = owner.post(url(workflow, "/clear"), {"status": "ERROR"})
    assert dry.status_code == 200 and "<html" in text(dry) and "3 entries will be deleted." in text(dry)
    done = owner.post(url(workflow, "/clear"), {"status": "ERROR", "confirm": "yes"})
    assert done.status_code == 303 and remaining(workflow) == 0
    assert "3 entries deleted." in text(owner.get(done.headers["Location"]))


def test_bulk_clear_with_nothing_matching_has_nothing_to_confirm(owner, workflow):
    make_history(workflow, status="COMPLETED")
    response = owner.post(url(workflow, "/clear"), {"status": "ERROR"}, fragment=True)
    assert "nothing to delete" in text(response) and 'value="yes"' not in text(response)


def test_viewer_cannot_clear(viewer, workflow):
    make_history(workflow, status="ERROR")
    assert viewer.post(url(workflow, "/clear"), {"status": "ERROR", "confirm": "yes"}).status_code == 403
    assert viewer.post(url(workflow, "/clear-markers"), {"workflow_name": "Invoices"}).status_code == 403
    assert remaining(workflow) == 1


# --- Clear all markers -------------------------------------------------------------------------

def test_clear_markers_needs_the_typed_workflow_name(owner, workflow):
    make_histories(workflow, 4)
    wrong = owner.post(url(workflow, "/clear-markers"), {"workflow_name": "invoices"}, fragment=True)
    assert wrong.status_code == 400 and wrong.headers["HX-Retarget"] == "#markers"
    assert "Type the workflow name exactly as shown to confirm." in text(wrong) and 'aria-invalid="true"' in text(wrong)
    assert remaining(workflow) == 4
    page = owner.post(url(workflow, "/clear-markers"), {"workflow_name": ""})
    assert page.status_code == 400 and "<html" in text(page) and remaining(workflow) == 4


def test_clear_markers_deletes_every_entry(owner, workflow):
    make_histories(workflow, 4, status="ERROR")
    make_history(workflow, status="COMPLETED")
    response = owner.post(url(workflow, "/clear-markers"), {"workflow_name": " Invoices "}, fragment=True)
    assert response.status_code == 200 and remaining(workflow) == 0 and rows(response) == []
    assert "File marker cleared successfully: 5 entries deleted." in text(response)
    assert '<section id="markers"' in text(response) and 'hx-swap-oob="true"' in text(response)
    plain = owner.post(url(workflow, "/clear-markers"), {"workflow_name": "Invoices"})
    assert plain.status_code == 303


def test_posts_without_csrf_token_are_refused(owner, workflow):
    row = make_history(workflow, status="ERROR")
    for path, data in (("/clear", {"status": "ERROR", "confirm": "yes"}), (f"/{row.id}/delete", {}),
                       ("/clear-markers", {"workflow_name": "Invoices"})):
        assert owner.post(url(workflow, path), data, token=False).status_code == 400
    assert remaining(workflow) == 1


def test_entry_page_links_the_execution_and_the_file_result_that_wrote_it(viewer, workflow):
    from tests.factories import make_execution, make_file_execution

    execution = make_execution(workflow, status="COMPLETED", total_files=1, successful_files=1)
    fe = make_file_execution(execution, status="COMPLETED", result={"total": 1})
    row = make_history(workflow, file_path="in/a.txt",
                       metadata_={"execution_id": str(execution.id), "file_execution_id": str(fe.id)})
    body = text(viewer.get(url(workflow, f"/{row.id}")))
    assert f'<a href="/executions/{execution.id}">execution {str(execution.id)[:8]}</a>' in body
    assert f'href="/executions/{execution.id}/files/{fe.id}"' in body
    assert viewer.get(f"/executions/{execution.id}/files/{fe.id}").status_code == 200
    legacy = make_history(workflow, file_path="in/b.txt", metadata_={"execution_id": "not-a-uuid"})
    assert 'id="history-execution"' not in text(viewer.get(url(workflow, f"/{legacy.id}")))
