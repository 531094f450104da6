"""Issue 4, end to end in a real browser with a real worker: build a workflow in the pages, run it, watch
its logs arrive live, then dry-run and clear its file history. Also the log panel's tail-following."""

from __future__ import annotations

import re
import time

import pytest

from tests.factories import make_execution, make_file_execution, make_log, make_workflow
from tests.web.browser import screenshot
from unstract.extensions import db
from unstract.models import Execution

pytestmark = pytest.mark.browser

XSS_NAME = "<img src=x onerror=alert(1)>.txt"
# `^(a+)+$` backtracks exponentially on "a"*23 + "!": a fraction of a second of real work per file (tools
# run in their own process), so six files make a run of several seconds to watch.
SLOW_TEXT = "a" * 23 + "!\n"
SLOW_FILES = [f"doc-{n}.txt" for n in range(6)]


@pytest.fixture
def folders(storage_root):
    """An inbox with six slow documents and one file whose name is HTML; an empty outbox."""
    inbox, outbox = storage_root / "inbox", storage_root / "outbox"
    inbox.mkdir()
    outbox.mkdir()
    for name in SLOW_FILES:
        (inbox / name).write_text(f"{SLOW_TEXT}Document {name}\n")
    (inbox / XSS_NAME).write_text("A file with a hostile name.\n")
    return {"Inbox": inbox, "Outbox": outbox}


def watch_dialogs(page) -> list[str]:
    """Any alert() would mean an injected script ran; collect and dismiss them."""
    seen: list[str] = []
    page.on("dialog", lambda dialog: (seen.append(dialog.message), dialog.dismiss()))
    return seen


def create_connector(page, name: str, path) -> None:
    page.goto("/connectors/new")
    kind = page.locator("#field-connector_id")
    if kind.input_value() != "local_storage":  # a change redraws the settings: wait for them before typing
        kind.select_option("local_storage")
        page.locator("#metadata-fields legend", has_text="Local").wait_for()
    page.fill("#field-connector_name", name)
    page.locator("[name='connector_metadata.path']").fill(str(path))
    page.get_by_role("button", name="Create connector").click()
    page.get_by_text(f"Connector “{name}” created.").wait_for()


def save_endpoint(page, slug: str, connector: str, **settings) -> None:
    section = page.locator(f"#{slug}")
    section.locator("select[name=connection_type]").select_option("FILESYSTEM")
    section.locator("select[name=connector_instance_id]").select_option(label=f"{connector} (local_storage)")
    for name, value in settings.items():
        section.locator(f"[name='configuration.{name}']").fill(value)
    section.get_by_role("button", name=f"Save {slug}").click()
    page.locator(f"#{slug} .notice-success").wait_for()


def build_workflow_in_the_pages(page, folders) -> None:
    """Connectors, workflow, source, destination and tools, all through the dashboard's forms."""
    for name, path in folders.items():
        create_connector(page, name, path)
    page.goto("/")
    page.fill("#workflow_name", "Slow invoices")
    page.get_by_role("button", name="Create workflow").click()
    page.wait_for_url(re.compile(r"/workflows/[0-9a-f-]{36}$"))
    save_endpoint(page, "source", "Inbox")
    save_endpoint(page, "destination", "Outbox", outputFolder="results")
    page.get_by_role("button", name="Add step").click()  # text extractor first
    page.locator("#tools h3", has_text="Step 1: Text extractor").wait_for()
    add = page.locator("#tool-add")
    add.locator("[name='metadata.rules.0.name']").fill("slow")
    add.locator("[name='metadata.rules.0.pattern']").fill("^(a+)+$")
    add.locator("[name='metadata.rules.0.group']").fill("0")
    page.get_by_role("button", name="Add step").click()
    page.locator("#tools h3", has_text="Step 2: Field extractor").wait_for()


def log_ids(page) -> set[str]:
    return set(page.locator("#log-lines li").evaluate_all("rows => rows.map(r => r.dataset.id)"))


def test_build_run_watch_live_and_clear_history(world, page, login, folders, live_worker):
    dialogs = watch_dialogs(page)
    login("owner@acme.test")
    build_workflow_in_the_pages(page, folders)

    page.get_by_role("button", name="Run now").click()
    page.wait_for_url(re.compile(r"/executions/[0-9a-f-]{36}$"))
    assert page.locator("#live").get_attribute("data-status") in ("PENDING", "EXECUTING")
    page.evaluate("window.__same_page = true")  # gone if anything reloads or navigates
    at_load = log_ids(page)
    finale = page.locator("#log-lines li", has_text="Total files: 7, 7 successfully executed and 0 error(s).")
    assert finale.count() == 0

    # A line that did not exist at page load appears while the run goes on, without navigation.
    page.wait_for_function(
        "known => [...document.querySelectorAll('#log-lines li')].some(li => !known.includes(li.dataset.id))",
        arg=sorted(at_load), timeout=30000)
    assert finale.count() == 0  # ... while the run is still going on
    assert page.locator("#live").get_attribute("data-status") in ("PENDING", "EXECUTING")
    page.locator("#exec-status .status-completed").wait_for(timeout=90000)
    finale.wait_for()
    assert page.evaluate("window.__same_page") is True
    assert page.locator("#log-poller").get_attribute("data-polling") == "no"
    assert page.locator("#live").get_attribute("hx-trigger") is None
    assert page.locator("#stat-ok").inner_text() == "7"

    # The hostile file name is text in the file table and in the log lines.
    assert page.locator("#files-table .file-name", has_text=XSS_NAME).count() == 1
    assert page.locator("#log-lines li", has_text=f"Processing file '{XSS_NAME}' (attempt 1).").count() == 1
    assert page.locator("#files-table img, #log-lines img").count() == 0
    screenshot(page, "execution-detail")

    page.get_by_role("link", name="All executions").click()
    page.locator("#execution-list .status-completed").wait_for()
    screenshot(page, "executions")
    page.get_by_role("link", name="File history").first.click()
    page.wait_for_url(re.compile(r"/history$"))
    assert page.locator("#history-results tbody tr").count() == 7
    page.fill("#filter-path", "doc-")
    page.locator("#history-summary", has_text="6 entries match these filters").wait_for()
    assert "file_path=doc-" in page.evaluate("location.href")
    page.get_by_role("button", name="Clear matching entries…").click()
    page.locator("#clear-count", has_text="6 entries will be deleted.").wait_for()
    screenshot(page, "file-history")
    page.get_by_role("button", name="Delete 6 entries").click()
    page.locator("#history-results .notice-success", has_text="6 entries deleted.").wait_for()
    assert page.locator("#history-results tbody tr").count() == 0

    page.fill("#filter-path", "")
    page.locator("#history-summary", has_text="1 entry").wait_for()
    assert page.locator("#history-results tbody tr .path a").inner_text() == XSS_NAME
    assert dialogs == []


# --- The log panel in a browser, with rows written by the test itself -------------------------

def lines_at_bottom(page) -> bool:
    return page.evaluate("() => { const el = document.getElementById('log-scroll');"
                         " return el.scrollHeight - el.scrollTop - el.clientHeight <= 24; }")


def test_log_panel_follows_the_tail_unless_scrolled_up_and_filters_reload_it(page, login, world):
    workflow = make_workflow(world.users["owner"], "acme")
    execution = make_execution(workflow, status="EXECUTING", phase="PROCESSING", total_files=1)
    file_execution = make_file_execution(execution, status="EXECUTING", file_name="inv-1.pdf")
    for n in range(80):
        make_log(execution, f"early line {n}", file_execution=file_execution if n % 2 else None)
    login("owner@acme.test")
    page.goto(f"/executions/{execution.id}")
    page.locator("#log-lines li", has_text="early line 79").wait_for()
    assert lines_at_bottom(page) and page.locator("#log-jump").is_hidden()

    make_log(execution, "followed line")
    page.locator("#log-lines li", has_text="followed line").wait_for(timeout=5000)
    page.wait_for_function("() => { const el = document.getElementById('log-scroll');"
                           " return el.scrollHeight - el.scrollTop - el.clientHeight <= 24; }")

    page.locator("#log-scroll").evaluate("el => { el.scrollTop = 0; }")
    page.locator("#log-jump").wait_for()
    make_log(execution, "line while reading above")
    page.locator("#log-lines li", has_text="line while reading above").wait_for(timeout=5000)
    time.sleep(0.3)
    assert page.locator("#log-scroll").evaluate("el => el.scrollTop") == 0
    page.locator("#log-jump").click()
    assert lines_at_bottom(page) and page.locator("#log-jump").is_hidden()

    page.locator("#log-level").select_option("WARN")
    page.locator("#log-lines li").first.wait_for(state="detached")
    make_log(execution, "a warning", level="WARN", file_execution=file_execution)
    make_log(execution, "an info hidden by the filter")
    page.locator("#log-lines li", has_text="a warning").wait_for(timeout=5000)
    assert page.locator("#log-lines li").count() == 1
    page.locator("#log-file").select_option(label="inv-1.pdf")
    page.wait_for_function(f"() => location.href.includes('file_execution_id={file_execution.id}')")
    assert page.locator("#log-lines li").count() == 1

    execution = db.session.get(Execution, execution.id)
    execution.status = "COMPLETED"
    db.session.commit()
    page.locator("#log-poller[data-polling='no']").wait_for(state="attached", timeout=5000)
    page.locator("#exec-status .status-completed").wait_for(timeout=5000)
    assert page.locator("#log-poller").get_attribute("hx-trigger") is None


def test_a_poll_in_flight_when_the_filter_changes_never_brings_the_old_filter_back(page, login, world):
    """The browser holds one poll (Playwright's request interception) while the reader picks a level; the
    late answer of that unfiltered poll must not replace the filtered panel's poller."""
    workflow = make_workflow(world.users["owner"], "acme")
    execution = make_execution(workflow, status="EXECUTING", phase="PROCESSING", total_files=1)
    make_log(execution, "first line")
    login("owner@acme.test")
    page.goto(f"/executions/{execution.id}")
    page.locator("#log-lines li", has_text="first line").wait_for()

    held = []
    page.route(re.compile(r"/logs\?.*after="), lambda route: held.append(route))
    while not held:
        page.wait_for_timeout(50)
    page.locator("#log-level").select_option("WARN")
    page.locator("#log-lines li").first.wait_for(state="detached")
    page.unroute(re.compile(r"/logs\?.*after="))
    for route in held:
        try:
            route.continue_()
        except Exception:  # noqa: BLE001 - the page aborted it: the behaviour wanted
            pass
    make_log(execution, "an info hidden by the filter")
    make_log(execution, "a warning", level="WARN")
    page.locator("#log-lines li", has_text="a warning").wait_for(timeout=5000)
    page.wait_for_timeout(1200)  # two more polls: the old filter, were it back, would show the info line
    assert page.locator("#log-lines li").all_inner_texts() and \
        page.locator("#log-lines li", has_text="an info hidden").count() == 0
    assert "log_level=WARN" in page.locator("#log-poller").get_attribute("hx-get")
