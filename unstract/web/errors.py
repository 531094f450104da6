"""One error renderer: the contract's envelope under /api/, plain HTML pages elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from unstract import errors
from unstract.auth import request_too_large
from unstract.extensions import db

log = logging.getLogger(__name__)

SERVER_ERROR = {"type": "server_error",
                "errors": [{"code": "server_error", "detail": "A server error occurred.", "attr": None}]}


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _render(error: errors.DomainError):
    if _is_api():
        return jsonify(error.envelope()), error.status, error.headers
    page = render_template("error.html", status=error.status, detail=error.messages[0].detail)
    return page, error.status, error.headers


def http_error(exc: HTTPException) -> errors.DomainError:
    """Translate werkzeug's routing and protocol errors into domain errors."""
    if exc.code == 405:
        error = errors.DomainError(f'Method "{request.method}" not allowed.', code="method_not_allowed")
        allowed = exc.valid_methods or []
        error.headers = {"Allow": ", ".join(sorted(allowed))}
    elif exc.code == 413:
        from flask import current_app

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


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(errors.DomainError)
    def _domain(exc: errors.DomainError):
        db.session.rollback()
        return _render(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return _render(http_error(exc))

    @app.errorhandler(OperationalError)
    def _database_down(exc):
        db.session.rollback()
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return _render(errors.ServiceUnavailable("The database is unavailable."))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        try:
            db.session.rollback()
        except DBAPIError:
            pass
        if _is_api():
            return jsonify(SERVER_ERROR), 500
        return render_template("error.html", status=500, detail="A server error occurred."), 500
