"""Dashboard fixtures: logged-in clients and page users, the usual workflow, a live server and Chromium."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.engine.workers import workers
from tests.factories import acme_workflow
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS
from tests.web.web_client import PageUser, browser_login, web_login


@pytest.fixture
def owner_client(client, world):
    """The `client` fixture logged in as the owner; its CSRF token is `client.csrf`."""
    web_login(client, "owner@acme.test")
    return client


@pytest.fixture
def viewer_client(client, world):
    web_login(client, "viewer@acme.test")
    return client


@pytest.fixture
def owner(app, world):
    return PageUser(app, "owner@acme.test")


@pytest.fixture
def viewer(app, world):
    return PageUser(app, "viewer@acme.test")


@pytest.fixture
def workflow(world):
    """`Invoices` of acme, owned by the owner and shared with the viewer."""
    return acme_workflow(world)


@pytest.fixture(scope="session")
def live_server(app):
    """The session's app on a free loopback port, served by werkzeug's threaded server."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


@pytest.fixture
def login(page):
    """Log in through the form; returns the page on the dashboard."""
    def do(email: str, password: str = "password123"):
        return browser_login(page, email, password)
    return do


@pytest.fixture
def live_worker(base_env, tmp_path):
    """One real `unstract worker` process on the test database and Redis."""
    with workers(base_env, tmp_path, count=1) as processes:
        yield processes[0]
