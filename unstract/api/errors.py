"""The API's error responses: every failure under /api/ answers with the contract's JSON envelope,
and every operation documents the envelope for each error status."""

from __future__ import annotations

from http import HTTPStatus

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields, validate

from unstract import errors

PATH_PREFIX = "/api/"  # the docs and the OpenAPI document too, not only the org routes
DEPLOYMENT_PREFIX = "/deployment/api/"  # API deployments' run routes answer in the same envelope
SERVER_ERROR = {"type": "server_error",
                "errors": [{"code": "server_error", "detail": "A server error occurred.", "attr": None}]}


def is_api_request() -> bool:
    return request.path.startswith((PATH_PREFIX, DEPLOYMENT_PREFIX))


def render(error: errors.DomainError) -> ResponseReturnValue:
    return jsonify(error.envelope()), error.status, error.headers


def render_server_error() -> ResponseReturnValue:
    return jsonify(SERVER_ERROR), 500


# --- Documentation ----------------------------------------------------------------------------

ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 415, 429, 503)
ERROR_HEADERS = {401: "WWW-Authenticate", 405: "Allow", 429: "Retry-After"}


class ErrorItemSchema(Schema):
    code = fields.String(required=True)
    detail = fields.String(required=True)
    attr = fields.String(required=True, allow_none=True)


class ErrorSchema(Schema):
    """The error envelope of every API error (docs/API.md, Errors); documentation only."""

    type = fields.String(required=True, validate=validate.OneOf(["validation_error", "client_error",
                                                                 "server_error"]))
    errors = fields.List(fields.Nested(ErrorItemSchema), required=True, validate=validate.Length(min=1))


def error_response_name(status: int) -> str:
    return f"Error{status}"


def register_error_responses(spec) -> None:
    """One response component per error status: the envelope with that status's `type` (docs/API.md, Errors).

    Expects `Api.ERROR_SCHEMA = ErrorSchema`, which flask-smorest registers as the `Error` component.
    """
    for status in ERROR_STATUSES:
        kind = "validation_error" if status == 400 else "server_error" if status >= 500 else "client_error"
        schema = {"allOf": [{"$ref": "#/components/schemas/Error"},
                            {"type": "object", "properties": {"type": {"type": "string", "enum": [kind]}}}]}
        response = {"description": HTTPStatus(status).phrase, "content": {"application/json": {"schema": schema}}}
        if status in ERROR_HEADERS:
            response["headers"] = {ERROR_HEADERS[status]: {"required": True, "schema": {"type": "string"}}}
        spec.components.response(error_response_name(status), response)


def document_error_responses(doc: dict, _doc_info: dict, **_kwargs) -> dict:
    """A flask-smorest doc callback adding the error responses to every operation."""
    responses = doc.setdefault("responses", {})
    for status in ERROR_STATUSES:
        responses.setdefault(str(status), error_response_name(status))
    return doc
