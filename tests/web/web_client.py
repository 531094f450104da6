"""Helpers for fragment tests: log a Flask test client in through the real form and post with its token."""

from __future__ import annotations

import re

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no csrf_token input"
    return match.group(1)


def web_login(client, email: str, password: str = "password123") -> str:
    """Log in through POST /login; returns a CSRF token valid for the session."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return token


def htmx(extra: dict | None = None) -> dict:
    """Headers htmx sends with a fragment request."""
    return {"HX-Request": "true", **(extra or {})}
