"""Several logged-in dashboard users in one test, each with its own Flask test client and session.

The tests share one app context (tests/conftest.py), and Flask keeps `g` for the whole context: Flask-Login
caches the request's user in `g._login_user` and Flask-WTF the rendered CSRF token in `g.csrf_token`. Left
alone, the next request of *another* client would run as the previous client's user. Each request here
drops both first, as a real server does between requests.
"""

from __future__ import annotations

from flask import g

from tests.web.web_client import htmx, web_login


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


def text(response) -> str:
    return response.get_data(as_text=True)
