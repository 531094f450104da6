"""The JSON API: one flask-smorest Blueprint per resource under /api/v1/unstract/<org_id>/."""

from __future__ import annotations

from flask import Flask, request
from flask_smorest import Blueprint

from unstract.api.description import API_DESCRIPTION
from unstract.api.errors import ErrorSchema, document_error_responses, register_error_responses
from unstract.auth import API_BASE, guard_api_request
from unstract.extensions import api

API_PREFIX = API_BASE + "<org_id>/"


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A resource blueprint whose views never see `org_id` (the guard already resolved it)."""
    blp = Blueprint(name, import_name, description=description)
    blp._prepare_doc_cbks.append(document_error_responses)

    @blp.url_value_preprocessor
    def _drop_org_id(_endpoint, values):
        if values is not None:
            values.pop("org_id", None)

    return blp


def register_api(app: Flask) -> None:
    app.config.update(
        API_TITLE="Unstract Workflow API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"security": [{"bearerAuth": []}, {"cookieAuth": []}],
                          "info": {"description": API_DESCRIPTION}},
    )
    api.ERROR_SCHEMA = ErrorSchema
    api.DEFAULT_ERROR_RESPONSE_NAME = None  # errors are documented per status (register_error_responses)
    api.init_app(app)
    register_error_responses(api.spec)
    from unstract.api import openapi

    openapi.register_field_attributes(api.ma_plugin.converter)
    openapi.register_components(api.spec)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("cookieAuth", {"type": "apiKey", "in": "cookie", "name": "session"})

    from unstract.api import (
        adapters,
        connectors,
        deployments,
        endpoints,
        executions,
        file_histories,
        members,
        meta,
        notifications,
        schedules,
        tools,
        usage,
        workflows,
    )

    for module in (workflows, executions, file_histories, connectors, endpoints, tools, members, adapters, usage,
                   deployments, schedules, notifications):
        for blp in module.BLUEPRINTS:
            api.register_blueprint(blp, url_prefix=API_PREFIX.rstrip("/"))
    meta.register(app)
    from unstract.api.deployments.run import runs

    app.register_blueprint(runs)

    @app.before_request
    def _guard_api():
        if request.path.startswith(API_BASE):
            guard_api_request()

    @app.after_request
    def _json_charset(response):
        if request.path.startswith("/api/") and response.mimetype == "application/json":
            response.headers["Content-Type"] = "application/json; charset=utf-8"
        return response
