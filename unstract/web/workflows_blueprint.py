"""The `web_workflows` blueprint: the workflows area's page modules register their routes on it."""

from __future__ import annotations

from flask import Blueprint, redirect

from unstract.web.context import is_htmx

bp = Blueprint("web_workflows", __name__)


def hx_redirect(url: str):
    """Navigate: htmx follows HX-Redirect, a plain form follows 303."""
    if is_htmx():
        return "", 200, {"HX-Redirect": url}
    return redirect(url, 303)
