"""The one way tests log in (test client or browser, always through the real form), and page helpers.

The tests share one app context (tests/conftest.py), and Flask keeps `g` for the whole context: Flask-Login
caches the request's user in `g._login_user` and Flask-WTF the rendered CSRF token in `g.csrf_token`. Left
alone, the next request of *another* client would run as the previous client's user. `PageUser` drops both
before each request, as a real server does between requests.
"""

from __future__ import annotations

import re

from flask import g

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "password123"
XSS_NAME = "<img src=x onerror=alert(1)>"


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no csrf_token input"
    return match.group(1)


def submit_login(client, email: str, password: str = PASSWORD):
    """Post the login form with the token it was rendered with; returns (response, CSRF token)."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    return response, token


def web_login(client, email: str, password: str = PASSWORD) -> str:
    """Log in through POST /login; returns a CSRF token valid for the session (also kept as `client.csrf`)."""
    response, token = submit_login(client, email, password)
    assert response.status_code == 302, response.get_data(as_text=True)
    client.csrf = token
    return token


def browser_login(page, email: str, password: str = PASSWORD):
    """Log a Playwright page in through the form; returns the page on the dashboard."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: not url.endswith("/login"))
    return page


def htmx(extra: dict | None = None) -> dict:
    """Headers htmx sends with a fragment request."""
    return {"HX-Request": "true", **(extra or {})}


def html(response) -> str:
    return response.get_data(as_text=True)



def is_full_page(text: str) -> bool:
    return text.lstrip().lower().startswith("<!doctype html>")


def post(client, url, data=None, headers=None, **kwargs):
    """A form post carrying the session's CSRF token (htmx sends it as a header, forms as a field)."""
    return client.post(url, data={"csrf_token": client.csrf, **(data or {})}, headers=headers or {}, **kwargs)


def put(client, url, headers=None):
    return client.put(url, headers={"X-CSRFToken": client.csrf, **(headers or {})})


class PageUser:
    """A test client logged in through the real form (None: anonymous)."""

    def __init__(self, app, email: str | None = None):
        self.client = app.test_client()
        self.token = ""
        if email:
            self._fresh()
            self.token = web_login(self.client, email)

    @staticmethod
    def _fresh() -> None:
        g.pop("_login_user", None)
        g.pop("csrf_token", None)

    def get(self, url: str, *, fragment: bool = False, headers: dict | None = None):
        self._fresh()
        return self.client.get(url, headers={**(htmx() if fragment else {}), **(headers or {})})

    def post(self, url: str, data: dict | None = None, *, fragment: bool = False, token: bool = True):
        self._fresh()
        body = {**(data or {}), **({"csrf_token": self.token} if token else {})}
        return self.client.post(url, data=body, headers=htmx() if fragment else {})
