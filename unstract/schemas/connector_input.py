"""Input of the connector resource, shared by the API and the dashboard: create, update, list filters."""

from __future__ import annotations

from unstract.schemas.fields import BaseSchema, ConfigJSON, Text, max_length, one_of, ordering_field
from unstract.services import connectors


class ConnectorCreateSchema(BaseSchema):
    """Body of POST connector/, fields in their documented order."""

    connector_name = Text(required=True, trim=True, allow_blank=False, validate=max_length(128))
    connector_id = Text(required=True, validate=one_of(connectors.CONNECTOR_IDS))
    connector_metadata = ConfigJSON(required=True, object_only=True)


class ConnectorUpdateSchema(BaseSchema):
    """Body of PATCH connector/{id}/: any subset; the type is compared with the stored one."""

    connector_name = Text(trim=True, allow_blank=False, validate=max_length(128))
    connector_id = Text(metadata={"enum": list(connectors.CONNECTOR_IDS),
                                  "description": "The stored type; it cannot change."})
    connector_metadata = ConfigJSON(object_only=True, metadata={"description": "Must fit the connector's stored type."})


class ConnectorQueryArgsSchema(BaseSchema):
    connector_id = Text(load_default=None, validate=one_of(connectors.CONNECTOR_IDS))
    connector_mode = Text(load_default=None, validate=one_of(connectors.MODES))
    ordering = ordering_field(connectors.ORDERING, connectors.DEFAULT_ORDERING)
