"""The pages' error responses: plain HTML pages for every failure outside /api/."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from unstract import errors


def render(error: errors.DomainError) -> ResponseReturnValue:
    page = render_template("error.html", status=error.status, detail=error.messages[0].detail)
    return page, error.status, error.headers


def render_server_error() -> ResponseReturnValue:
    return render_template("error.html", status=500, detail="A server error occurred."), 500
