"""Adapters: the organization's LLM connections (docs/API.md, Adapters)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from unstract.api import api_blueprint
from unstract.api.adapters.schemas import AdapterSchema, AdapterTestSchema
from unstract.api.common import (
    apply_ordering,
    documented,
    load_query,
    page_schema,
    paginate,
    parse_body,
    require_json_content_type,
)
from unstract.auth import requester
from unstract.schemas.adapter_input import AdapterCreateSchema, AdapterQueryArgsSchema, AdapterUpdateSchema
from unstract.services import adapters

blp = api_blueprint("adapters", __name__, "Adapters")


def _secret_key():
    return current_app.config["SECRET_KEY"]


@blp.route("/adapter/")
class Adapters(MethodView):
    @documented(blp, query=AdapterQueryArgsSchema, paginated=True)
    @blp.response(200, page_schema(AdapterSchema))
    def get(self):
        """List the organization's adapters (never their keys)."""
        who = requester()
        args = load_query(AdapterQueryArgsSchema())
        query = apply_ordering(adapters.list_query(who), args["ordering"], adapters.ORDERING,
                               adapters.DEFAULT_ORDERING, adapters.PRIMARY_KEY)
        return paginate(query, adapters.present)

    @documented(blp, body=AdapterCreateSchema)
    @blp.response(201, AdapterSchema)
    def post(self):
        """Create an adapter (org admins)."""
        who = requester()
        data, problems = parse_body(AdapterCreateSchema())  # content type and JSON first (docs/API.md, Order of checks)
        adapters.require_admin(who)
        return adapters.create(who, data, problems, secret_key=_secret_key())


@blp.route("/adapter/<uuid:adapter_id>/")
class AdapterById(MethodView):
    @blp.response(200, AdapterSchema)
    def get(self, adapter_id):
        """Retrieve an adapter (never its key)."""
        return adapters.present(adapters.get_adapter(requester(), adapter_id))

    @documented(blp, body=AdapterUpdateSchema)
    @blp.response(200, AdapterSchema)
    def patch(self, adapter_id):
        """Update an adapter (org admins); an absent config.api_key keeps the stored key."""
        require_json_content_type()
        who = requester()
        adapter = adapters.get_editable(who, adapter_id)
        data, problems = parse_body(AdapterUpdateSchema())
        return adapters.update(who, adapter, data, problems, secret_key=_secret_key())

    @blp.response(204)
    def delete(self, adapter_id):
        """Delete an adapter no tool uses (org admins)."""
        adapters.delete_adapter(adapters.get_editable(requester(), adapter_id))
        return ""


@blp.route("/adapter/<uuid:adapter_id>/test/")
class AdapterTest(MethodView):
    @blp.response(200, AdapterTestSchema)
    def post(self, adapter_id):
        """Test the connection with one minimal call: {ok, model, latency_ms} or {ok: false, error}."""
        adapter = adapters.get_editable(requester(), adapter_id)
        return adapters.test_connection(adapter, _secret_key())
