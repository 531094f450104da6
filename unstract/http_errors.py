"""Every way a request can fail, as a domain error; the API renders it as the envelope, pages as HTML.

The API (unstract.api.errors) and the pages (unstract.web.errors) each render in one place; this module
turns werkzeug's routing and protocol errors into domain errors for both, and picks the renderer by path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from flask import Flask, current_app, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from unstract import errors
from unstract.extensions import db

log = logging.getLogger(__name__)


class ErrorRenderer(Protocol):
    """How one side of the application (API or pages) answers a failed request."""

    def render(self, error: errors.DomainError) -> ResponseReturnValue: ...

    def render_server_error(self) -> ResponseReturnValue: ...


def request_too_large(limit: int) -> errors.DomainError:
    error = errors.DomainError(f"Request body exceeds {limit} bytes.", code="request_too_large")
    error.status = 413
    return error


def http_error(exc: HTTPException) -> errors.DomainError:
    """Translate werkzeug's routing and protocol errors into domain errors."""
    if exc.code == 405:
        error = errors.DomainError(f'Method "{request.method}" not allowed.', code="method_not_allowed")
        allowed = exc.valid_methods or []
        error.headers = {"Allow": ", ".join(sorted(allowed))}
    elif exc.code == 413:
        return request_too_large(current_app.config["MAX_CONTENT_LENGTH"])
    elif exc.code == 404:
        return errors.NotFound()
    elif exc.code == 415:
        error = errors.DomainError(f'Unsupported media type "{request.content_type}" in request.',
                                   code="unsupported_media_type")
    elif exc.code == 400:
        return errors.ValidationFailed("Malformed request.", code="parse_error")
    else:
        error = errors.DomainError(exc.description or exc.name, code=exc.name.lower().replace(" ", "_"))
    error.status = exc.code or 500
    return error


def register_error_handlers(app: Flask, renderer: Callable[[], ErrorRenderer]) -> None:
    """One handler per kind of failure; `renderer()` names the side that answers the current request."""

    @app.errorhandler(errors.DomainError)
    def _domain(exc: errors.DomainError):
        db.session.rollback()
        return renderer().render(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return renderer().render(http_error(exc))

    @app.errorhandler(OperationalError)
    def _database_down(exc):
        db.session.rollback()
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return renderer().render(errors.ServiceUnavailable("The database is unavailable."))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        try:
            db.session.rollback()
        except DBAPIError:
            pass
        return renderer().render_server_error()
