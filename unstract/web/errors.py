"""The pages' error responses: plain HTML pages for every failure outside /api/."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from unstract import errors


def render(error: errors.DomainError) -> ResponseReturnValue:
    if isinstance(error, errors.BadHost):
        # Nothing of the layout (links, session, the user's orgs) for a request the service refuses to serve.
        return render_template("error_bare.html", status=error.status, detail=error.messages[0].detail), \
            error.status
    page = render_template("error.html", status=error.status, detail=error.messages[0].detail)
    return page, error.status, error.headers


def render_server_error() -> ResponseReturnValue:
    return render_template("error.html", status=500, detail="A server error occurred."), 500
