"""X-Request-ID on every response, bound to the request's log records (docs/OBSERVABILITY.md)."""

from __future__ import annotations

import logging

from flask import Flask, g, request

from unstract import logcontext
from unstract.logcontext import REQUEST_ID_HEADER

log = logging.getLogger("unstract.http")


def register_request_ids(app: Flask) -> None:
    """Registered before every other hook, so even a response another hook makes carries the id."""

    @app.before_request
    def _bind_request_id() -> None:
        g.request_id = logcontext.request_id_from(request.headers.get(REQUEST_ID_HEADER))
        g.request_id_token = logcontext.bind("request_id", g.request_id)

    @app.after_request
    def _echo_request_id(response):
        if "request_id" not in g:  # a response made before our hook ran
            g.request_id = logcontext.request_id_from(request.headers.get(REQUEST_ID_HEADER))
        response.headers[REQUEST_ID_HEADER] = g.request_id
        log.info("%s %s %s", request.method, request.path, response.status_code)
        return response

    @app.teardown_request
    def _unbind_request_id(_exc) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            logcontext.unbind(token)
