"""The live log panel of the execution page: cursor polling, filters, stop condition (issue 4 item 4)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import insert

from tests.factories import make_execution, make_file_execution, make_log, make_workflow
from tests.web.web_client import PageUser
from tests.web.web_client import html as text
from unstract.extensions import db
from unstract.models import LEVEL_ORDER, ExecutionLog
from unstract.models.base import utcnow
from unstract.web import executions_pages

LOG_ROW = re.compile(r'<li class="log-line[^"]*" data-id="(\d+)"')
XSS_NAME = "<img src=x onerror=alert(1)>.txt"


def ids(response) -> list[int]:
    assert response.status_code == 200, text(response)[:500]
    return [int(i) for i in LOG_ROW.findall(text(response))]


def poller(response) -> str:
    match = re.search(r'<div id="log-poller".*?></div>', text(response), re.S)
    assert match, "no poller in the response"
    return match.group(0)


@pytest.fixture
def execution(workflow):
    return make_execution(workflow, status="EXECUTING", phase="PROCESSING")


def logs_url(execution, query: str = "") -> str:
    return f"/executions/{execution.id}/logs{query}"


def test_logs_url_serves_the_full_page_the_panel_or_the_new_rows(viewer, execution):
    row = make_log(execution, "Execution started.")
    full = viewer.get(logs_url(execution, "?log_level=INFO"))
    panel = viewer.get(logs_url(execution, "?log_level=INFO"), fragment=True)
    rows = viewer.get(logs_url(execution, "?after=0"), fragment=True)
    assert "<html" in text(full) and 'id="live"' in text(full) and 'value="INFO" selected' in text(full)
    assert text(panel).lstrip().startswith('<section id="log-panel"') and "<html" not in text(panel)
    assert 'id="live"' not in text(panel)
    assert text(rows).lstrip().startswith("<li") and 'id="log-panel"' not in text(rows)
    assert ids(full) == ids(panel) == ids(rows) == [row.id]


def test_after_returns_only_newer_rows_and_moves_the_cursor(viewer, execution):
    first, second = make_log(execution, "one"), make_log(execution, "two")
    third = make_log(execution, "three")
    response = viewer.get(logs_url(execution, f"?after={first.id}"), fragment=True)
    assert ids(response) == [second.id, third.id]
    assert f'data-cursor="{third.id}"' in poller(response) and f"after={third.id}" in poller(response)
    assert 'hx-swap-oob="true"' in poller(response) and 'hx-swap="beforeend"' in poller(response)
    nothing = viewer.get(logs_url(execution, f"?after={third.id}"), fragment=True)
    assert ids(nothing) == [] and f"after={third.id}" in poller(nothing)


def test_polling_stops_once_terminal_and_nothing_is_pending(viewer, execution):
    last = make_log(execution, "Total files: 0, 0 successfully executed and 0 error(s).", stage="FINALIZE")
    running = viewer.get(logs_url(execution, "?after=0"), fragment=True)
    assert 'hx-trigger="every 500ms"' in poller(running)
    execution.status = "COMPLETED"
    db.session.commit()
    finished = viewer.get(logs_url(execution, "?after=0"), fragment=True)
    assert ids(finished) == [last.id]
    assert "hx-trigger" not in poller(finished) and "hx-get" not in poller(finished)
    panel = viewer.get(f"/executions/{execution.id}")
    assert "hx-trigger" not in poller(panel) and 'data-polling="no"' in poller(panel)


def test_a_terminal_execution_keeps_polling_while_rows_are_pending(viewer, execution, monkeypatch):
    monkeypatch.setattr(executions_pages, "LOG_BATCH", 2)
    rows = [make_log(execution, f"line {n}") for n in range(3)]
    execution.status = "COMPLETED"
    db.session.commit()
    first = viewer.get(logs_url(execution, "?after=0"), fragment=True)
    assert ids(first) == [rows[0].id, rows[1].id] and 'hx-trigger="every 500ms"' in poller(first)
    rest = viewer.get(logs_url(execution, f"?after={rows[1].id}"), fragment=True)
    assert ids(rest) == [rows[2].id] and "hx-trigger" not in poller(rest)


def test_rows_keep_reading_order_within_a_batch(viewer, execution):
    later = make_log(execution, "later", event_time=utcnow())
    earlier = make_log(execution, "earlier", event_time=utcnow().replace(year=2020))
    assert ids(viewer.get(logs_url(execution, "?after=0"), fragment=True)) == [earlier.id, later.id]


def test_level_filter_is_a_minimum_severity(viewer, execution):
    make_log(execution, "debug", level="DEBUG")
    make_log(execution, "info", level="INFO")
    warn, error = make_log(execution, "warn", level="WARN"), make_log(execution, "error", level="ERROR")
    assert ids(viewer.get(logs_url(execution, "?log_level=WARN"), fragment=True)) == [warn.id, error.id]
    polled = viewer.get(logs_url(execution, "?log_level=ERROR&after=0"), fragment=True)
    assert ids(polled) == [error.id] and "log_level=ERROR" in poller(polled)


def test_file_filter_selects_one_file_or_execution_level_rows(viewer, execution):
    first, second = make_file_execution(execution), make_file_execution(execution, file_name=XSS_NAME)
    general = make_log(execution, "execution level")
    of_first = make_log(execution, "first", file_execution=first)
    of_second = make_log(execution, "second", file_execution=second)
    one = viewer.get(logs_url(execution, f"?file_execution_id={first.id}"), fragment=True)
    assert ids(one) == [of_first.id] and f'value="{first.id}" selected' in text(one)
    assert f"file_execution_id={first.id}" in poller(one)
    assert ids(viewer.get(logs_url(execution, "?file_execution_id=null"), fragment=True)) == [general.id]
    everything = viewer.get(logs_url(execution), fragment=True)
    assert ids(everything) == [general.id, of_first.id, of_second.id]
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in text(everything) and XSS_NAME not in text(everything)


@pytest.mark.parametrize(("query", "message"), [
    ("?log_level=warn", "log_level: &#34;warn&#34; is not a valid choice."),
    ("?file_execution_id=abc", "file_execution_id: Must be a valid UUID or null."),
    ("?after=x", "after: A valid integer is required."),
    ("?after=-1", "after: Ensure this value is greater than or equal to 0."),
])
def test_bad_filters_are_shown_in_the_panel(viewer, execution, query, message):
    make_log(execution, "hidden while the filter is wrong")
    for fragment in (True, False):
        response = viewer.get(logs_url(execution, query), fragment=fragment)
        assert response.status_code == 400 and message in text(response)
        assert LOG_ROW.search(text(response)) is None and "hx-trigger" not in poller(response)


def test_log_text_renders_as_text(viewer, execution):
    make_log(execution, "<script>alert(1)</script> done")
    body = text(viewer.get(logs_url(execution, "?after=0"), fragment=True))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; done" in body and "<script>" not in body


def test_rows_of_other_executions_never_appear(viewer, workflow, execution):
    mine = make_log(execution, "mine")
    make_log(make_execution(workflow), "someone else's")
    assert ids(viewer.get(logs_url(execution, "?after=0"), fragment=True)) == [mine.id]


def test_the_panel_shows_the_latest_lines_and_polls_from_the_newest(viewer, execution, monkeypatch):
    monkeypatch.setattr(executions_pages, "LOG_TAIL", 3)
    now = utcnow()
    db.session.execute(insert(ExecutionLog), [
        {"execution_id": execution.id, "event_time": now, "level": "INFO", "level_rank": LEVEL_ORDER["INFO"],
         "stage": "PROCESSING", "data": {"log": f"line {n}", "level": "INFO"}} for n in range(5)])
    db.session.commit()
    panel = viewer.get(f"/executions/{execution.id}")
    shown = ids(panel)
    assert len(shown) == 3 and "line 4" in text(panel) and "line 1" not in text(panel)
    assert "Showing the last 3 lines." in text(panel) and f"after={max(shown)}" in poller(panel)


def test_poll_sends_the_file_filter_once_files_are_listed(viewer, execution):
    url = logs_url(execution, "?after=0&known_files=0")
    assert 'id="log-file"' not in text(viewer.get(url, fragment=True))
    file_execution = make_file_execution(execution, file_name="inv-1.pdf")
    execution.total_files = 1
    db.session.commit()
    response = viewer.get(url, fragment=True)
    select = re.search(r'<select name="file_execution_id" id="log-file" hx-swap-oob="true">.*?</select>',
                       text(response), re.S)
    assert select and f'value="{file_execution.id}"' in select.group(0) and "inv-1.pdf" in select.group(0)
    assert "known_files=1" in poller(response)
    assert 'id="log-file"' not in text(viewer.get(logs_url(execution, "?after=0&known_files=1"), fragment=True))


@pytest.mark.parametrize("known", ["²", "١", " 1", "+1"])
def test_poll_reads_known_files_as_ascii_digits_only(viewer, execution, known):
    """Other text, even a digit str.isdigit accepts and int() refuses (²), is as if the count were absent."""
    response = viewer.get(logs_url(execution, f"?after=0&known_files={known}"), fragment=True)
    assert response.status_code == 200 and 'id="log-file"' not in text(response)


def test_logs_need_a_visible_workflow(app, world, execution):
    for email, status in (("owner@acme.test", 200), ("admin@acme.test", 200), ("viewer@acme.test", 200),
                          ("member@acme.test", 404), ("outsider@other.test", 404)):
        assert PageUser(app, email).get(logs_url(execution, "?after=0")).status_code == status
    assert PageUser(app).get(logs_url(execution)).status_code == 302


def test_polls_for_an_execution_that_is_gone_are_told_to_stop(viewer, world, workflow, execution):
    hidden = make_execution(make_workflow(world.users["owner"], "acme"))
    urls = [logs_url(execution, "?after=0"), f"/executions/{execution.id}", f"/executions/{hidden.id}"]
    for url in urls[:2]:
        assert viewer.get(url, fragment=True).status_code == 200
    db.session.delete(workflow)
    db.session.commit()
    for url in urls:
        response = viewer.get(url, fragment=True)
        assert response.status_code == 286 and text(response) == ""  # htmx cancels the polling trigger
        assert viewer.get(url).status_code == 404


# --- Earlier lines ------------------------------------------------------------------------------

def test_show_earlier_pages_back_from_the_oldest_line_shown(viewer, execution, monkeypatch):
    monkeypatch.setattr(executions_pages, "LOG_TAIL", 3)
    monkeypatch.setattr(executions_pages, "LOG_BATCH", 2)
    now = utcnow()
    db.session.execute(insert(ExecutionLog), [
        {"execution_id": execution.id, "event_time": now, "level": "INFO", "level_rank": LEVEL_ORDER["INFO"],
         "stage": "PROCESSING", "data": {"log": f"line {n}", "level": "INFO"}} for n in range(6)])
    db.session.commit()
    panel = viewer.get(f"/executions/{execution.id}")
    shown = ids(panel)
    assert len(shown) == 3 and 'id="log-earlier"' in text(panel) and 'data-keep="1000"' in text(panel)
    assert 'id="log-earlier" class="log-earlier" hidden' not in text(panel)
    assert f'hx-vals=\'{{"before": "{shown[0]}"}}\'' in text(panel)

    older = viewer.get(logs_url(execution, f"?before={shown[0]}"), fragment=True)
    page_ids = ids(older)
    assert len(page_ids) == 2 and max(page_ids) < shown[0] and page_ids == sorted(page_ids)
    assert 'hx-swap-oob="true"' in text(older) and f'"before": "{page_ids[0]}"' in text(older)
    assert 'class="log-earlier" hx-swap-oob="true" hidden' not in text(older)  # one more row is older still
    last = viewer.get(logs_url(execution, f"?before={page_ids[0]}"), fragment=True)
    assert len(ids(last)) == 1 and 'class="log-earlier" hx-swap-oob="true" hidden' in text(last)


def test_show_earlier_keeps_the_filters_and_refuses_a_bad_cursor(viewer, execution, workflow):
    fe = make_file_execution(execution, status="COMPLETED", file_name="a.txt")
    rows = [make_log(execution, f"line {n}", file_execution=fe if n % 2 else None) for n in range(5)]
    newest = rows[-1].id
    older = viewer.get(logs_url(execution, f"?before={newest}&file_execution_id={fe.id}"), fragment=True)
    assert ids(older) == [rows[1].id, rows[3].id]
    other = make_execution(workflow, status="COMPLETED")
    foreign = make_log(other, "elsewhere")
    assert ids(viewer.get(logs_url(execution, f"?before={foreign.id}"), fragment=True)) == []
    for bad in ("0", "-1", "x", "1.5"):
        refused = viewer.get(logs_url(execution, f"?before={bad}"), fragment=True)
        assert refused.status_code == 400 and "before: A log row id" in text(refused)
