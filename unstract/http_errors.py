"""Every way a request can fail, as a domain error; the API renders it as the envelope, pages as HTML.

The API (unstract.api.errors) and the pages (unstract.web.errors) each render in one place; this module
turns werkzeug's routing and protocol errors into domain errors for both, and picks the renderer by path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from flask import Flask, Request, current_app, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.formparser import FormDataParser, MultiPartParser

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


# --- Multipart bodies: too many parts is a 400 of its own --------------------------------------

class TooManyParts(BadRequest):
    """A multipart body with more parts than MAX_FORM_PARTS (UNSTRACT_MAX_FORM_PARTS)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The multipart body has more than {limit} parts.")
        self.limit = limit


class PartCountingMultiPartParser(MultiPartParser):
    """Counts the parts itself, since werkzeug's own count raises the 413 of a body that is too large.

    Each part reaches exactly one hook: a field when its text is decoded (its charset is chosen), a file
    when its stream is opened; both come in body order, so the part after the limit raises TooManyParts."""

    def __init__(self, *args, max_form_parts: int | None = None, **kwargs) -> None:
        super().__init__(*args, max_form_parts=None, **kwargs)
        self.part_limit = max_form_parts
        self.parts = 0

    def _count_part(self) -> None:
        self.parts += 1
        if self.part_limit is not None and self.parts > self.part_limit:
            raise TooManyParts(self.part_limit)

    def get_part_charset(self, headers):
        self._count_part()
        return super().get_part_charset(headers)

    def start_file_streaming(self, event, total_content_length):
        self._count_part()
        return super().start_file_streaming(event, total_content_length)


class PartCountingFormDataParser(FormDataParser):
    """werkzeug's form parser with PartCountingMultiPartParser for multipart bodies (its multipart step
    is re-stated here; tests/api/test_body_bounds.py fails if a werkzeug upgrade bypasses it)."""

    def _parse_multipart(self, stream, mimetype, content_length, options):
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        parser = PartCountingMultiPartParser(stream_factory=self.stream_factory,
                                             max_form_memory_size=self.max_form_memory_size,
                                             max_form_parts=self.max_form_parts, cls=self.cls)
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class UnstractRequest(Request):
    """Flask's request with the part-counting form parser (MAX_FORM_PARTS comes from Flask's config)."""

    form_data_parser_class = PartCountingFormDataParser


def too_many_parts(limit: int) -> errors.ValidationFailed:
    return errors.ValidationFailed(f"The multipart body has more than {limit} parts.", code="too_many_parts")


def http_error(exc: HTTPException) -> errors.DomainError:
    """Translate werkzeug's routing and protocol errors into domain errors."""
    if isinstance(exc, TooManyParts):
        return too_many_parts(exc.limit)
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
