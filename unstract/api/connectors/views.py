"""Connectors: named file stores and databases of the organization (docs/API.md, Connectors)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from unstract.api import api_blueprint
from unstract.api.common import (
    apply_ordering,
    documented,
    load_query,
    page_schema,
    paginate,
    paginate_list,
    parse_body,
    require_json_content_type,
)
from unstract.api.connectors.schemas import ConnectorSchema, ConnectorTypeSchema
from unstract.auth import requester
from unstract.schemas.connector_input import ConnectorCreateSchema, ConnectorQueryArgsSchema, ConnectorUpdateSchema
from unstract.services import connectors

blp = api_blueprint("connectors", __name__, "Connectors")


def _write_settings() -> dict:
    """What a connector write needs from the configuration: allowed roots and the sealing key."""
    return {"roots": current_app.config["UNSTRACT_SETTINGS"].local_storage_roots,
            "secret_key": current_app.config["SECRET_KEY"]}


@blp.route("/connector/")
class Connectors(MethodView):
    @documented(blp, query=ConnectorQueryArgsSchema, paginated=True)
    @blp.response(200, page_schema(ConnectorSchema))
    def get(self):
        """List the organization's connectors."""
        who = requester()
        args = load_query(ConnectorQueryArgsSchema())
        query = connectors.list_query(who, connector_id=args["connector_id"],
                                      connector_mode=args["connector_mode"])
        query = apply_ordering(query, args["ordering"], connectors.ORDERING, connectors.DEFAULT_ORDERING,
                               connectors.PRIMARY_KEY)
        return paginate(query, connectors.present)

    @documented(blp, body="ConnectorCreateBody")
    @blp.response(201, ConnectorSchema)
    def post(self):
        """Create a connector."""
        who = requester()
        data, problems = parse_body(ConnectorCreateSchema())
        return connectors.create(who, data, problems, **_write_settings())


@blp.route("/connector/types/")
class ConnectorTypes(MethodView):
    @documented(blp, paginated=True)
    @blp.response(200, page_schema(ConnectorTypeSchema))
    def get(self):
        """List the connector types and their metadata schemas."""
        return paginate_list(connectors.connector_types())


@blp.route("/connector/<uuid:connector_id>/")
class ConnectorById(MethodView):
    @blp.response(200, ConnectorSchema)
    def get(self, connector_id):
        """Retrieve a connector (secrets masked)."""
        return connectors.present(connectors.get_connector(requester(), connector_id))

    @documented(blp, body="ConnectorUpdateBody")
    @blp.response(200, ConnectorSchema)
    def patch(self, connector_id):
        """Update a connector's name or metadata (creator or org admin)."""
        require_json_content_type()  # the content type (415) before the lookup (404): docs/API.md, Order of checks
        who = requester()
        connector = connectors.get_editable(who, connector_id)
        data, problems = parse_body(ConnectorUpdateSchema())
        return connectors.update(who, connector, data, problems, **_write_settings())

    @blp.response(204)
    def delete(self, connector_id):
        """Delete a connector that no workflow endpoint uses (creator or org admin)."""
        connectors.delete_connector(connectors.get_editable(requester(), connector_id))
        return ""
