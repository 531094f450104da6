"""The API's error responses: every failure under /api/ answers with the contract's JSON envelope."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from unstract import errors

PATH_PREFIX = "/api/"  # the docs and the OpenAPI document too, not only the org routes
SERVER_ERROR = {"type": "server_error",
                "errors": [{"code": "server_error", "detail": "A server error occurred.", "attr": None}]}


def is_api_request() -> bool:
    return request.path.startswith(PATH_PREFIX)


def render(error: errors.DomainError) -> ResponseReturnValue:
    return jsonify(error.envelope()), error.status, error.headers


def render_server_error() -> ResponseReturnValue:
    return jsonify(SERVER_ERROR), 500
