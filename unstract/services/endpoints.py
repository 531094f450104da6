"""Workflow endpoint use cases: list, read and configure a source or destination."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, case, select

from unstract import errors
from unstract.connectors import registry
from unstract.errors import FieldMessage
from unstract.extensions import db
from unstract.jsonschemas import load_document, settings_schema_for
from unstract.models import ALLOWED_CONNECTION_TYPES, Connector, EndpointType, Workflow, WorkflowEndpoint
from unstract.policy import Requester, get_visible_workflow
from unstract.services.validation import raise_if_any

# Body fields in their documented order; error entries follow this order.
FIELDS = ("connection_type", "connector_instance_id", "configuration")
MODE_FOR_CONNECTION = {"FILESYSTEM": "FILE_SYSTEM", "DATABASE": "DATABASE"}
API_TAKES_NO_CONNECTOR = "An API endpoint takes no connector."
CONNECTOR_NOT_FOUND = "Connector not found."
SCHEMA_QUALIFIED = "A schema-qualified table name requires a postgresql connector."
RESERVED_COLUMNS = ("id", "file_execution_id")


# --- Reading -------------------------------------------------------------------------------------

def list_query(workflow: Workflow) -> Select:
    """The workflow's two endpoints, SOURCE first."""
    source_first = case((WorkflowEndpoint.endpoint_type == EndpointType.SOURCE, 0), else_=1)
    return (select(WorkflowEndpoint).where(WorkflowEndpoint.workflow_id == workflow.id)
            .order_by(source_first, WorkflowEndpoint.id))


def get_endpoint(who: Requester, endpoint_id: uuid.UUID, *, owner: bool = False) -> WorkflowEndpoint:
    """An endpoint whose workflow is visible (404 otherwise); 403 when `owner` is needed and missing."""
    endpoint = db.session.get(WorkflowEndpoint, endpoint_id)
    if endpoint is None:
        raise errors.NotFound()
    get_visible_workflow(who, endpoint.workflow_id, owner=owner)
    return endpoint


def present_connector(connector: Connector | None) -> dict | None:
    if connector is None:
        return None
    return {"id": connector.id, "connector_name": connector.connector_name,
            "connector_id": connector.connector_id, "connector_mode": connector.connector_mode}


def present(endpoint: WorkflowEndpoint) -> dict:
    """The workflow endpoint representation."""
    return {
        "id": endpoint.id, "workflow": endpoint.workflow_id, "workflow_name": endpoint.workflow.workflow_name,
        "endpoint_type": endpoint.endpoint_type, "connection_type": endpoint.connection_type,
        "connector_instance": present_connector(endpoint.connector),
        "configuration": endpoint.configuration,
        "created_at": endpoint.created_at, "modified_at": endpoint.modified_at,
    }


# --- Rules ---------------------------------------------------------------------------------------

def _check_connector(who: Requester, connection_type: str,
                     connector_id: uuid.UUID | None) -> tuple[Connector | None, list[FieldMessage]]:
    """The connector rules: none for API; for FILESYSTEM/DATABASE one of the org with a fitting mode."""
    if connector_id is None:
        return None, []
    if connection_type == "API":
        return None, [FieldMessage("invalid", API_TAKES_NO_CONNECTOR, "connector_instance_id")]
    connector = db.session.scalar(
        select(Connector).where(Connector.id == connector_id, Connector.organization_id == who.org.id))
    if connector is None:
        return None, [FieldMessage("invalid", CONNECTOR_NOT_FOUND, "connector_instance_id")]
    if connector.connector_mode != MODE_FOR_CONNECTION[connection_type]:
        detail = f"Connector mode {connector.connector_mode} does not fit connection type {connection_type}."
        return None, [FieldMessage("invalid", detail, "connector_instance_id")]
    return connector, []


def _configuration_document(endpoint: WorkflowEndpoint, connection_type: str, data: dict) -> Any:
    """The sent configuration ({} for null), else {} on a type change, else the stored one."""
    if "configuration" in data:
        return {} if data["configuration"] is None else data["configuration"]
    if connection_type != endpoint.connection_type or endpoint.configuration is None:
        return {}
    return endpoint.configuration


def _column_errors(config: dict) -> list[FieldMessage]:
    """Column names of a DATABASE destination must be pairwise distinct (case-insensitively)."""
    columns = [(config["filePath"], "filePath"), (config["executionId"], "executionId"),
               (config["singleColumnName"], "singleColumnName")]
    columns += [("created_by", "includeAgent")] if config["includeAgent"] else []
    columns += [("created_at", "includeTimestamp")] if config["includeTimestamp"] else []
    columns += [(name, None) for name in RESERVED_COLUMNS]
    seen: dict[str, str | None] = {}
    messages = []
    for name, field in columns:
        key = name.lower()
        if key in seen:
            attr = f"configuration.{field or seen[key]}"
            messages.append(FieldMessage("invalid", f"Column name '{name}' is used twice.", attr))
        else:
            seen[key] = field
    return messages


def _takes_schema_prefix(connector_id: str) -> bool:
    """False only for a database type without schemas (SQLite), where `schema.name` names no table."""
    connector_type = registry.find(connector_id)
    return not isinstance(connector_type, registry.DatabaseType) or connector_type.schema_qualified_tables


def _database_errors(config: dict, connector: Connector | None) -> list[FieldMessage]:
    """The DESTINATION+DATABASE rules a schema cannot express."""
    messages = _column_errors(config)
    if "." in config["table"] and connector is not None and not _takes_schema_prefix(connector.connector_id):
        messages.append(FieldMessage("invalid", SCHEMA_QUALIFIED, "configuration.table"))
    return messages


def _check_configuration(endpoint: WorkflowEndpoint, connection_type: str, data: dict,
                         connector: Connector | None) -> tuple[dict | None, list[FieldMessage]]:
    """Fill defaults and validate against the (endpoint_type, connection_type) schema (docs/API.md)."""
    document = _configuration_document(endpoint, connection_type, data)
    schema = settings_schema_for(endpoint.endpoint_type, connection_type) or {}
    loaded, problems = load_document(document, schema, "configuration")
    messages = [FieldMessage(p.code, p.detail, p.attr) for p in problems]
    if loaded is not None and (endpoint.endpoint_type, connection_type) == ("DESTINATION", "DATABASE"):
        messages = _database_errors(loaded, connector)
    return (None, messages) if messages else (loaded, [])


# --- Writing -------------------------------------------------------------------------------------

def _effective_connection_type(endpoint: WorkflowEndpoint, data: dict) -> str:
    connection_type = data.get("connection_type", endpoint.connection_type)
    if connection_type not in ALLOWED_CONNECTION_TYPES[EndpointType(endpoint.endpoint_type)]:
        detail = f'"{connection_type}" is not a valid choice.'
        raise errors.field_error("connection_type", "invalid_choice", detail)
    return connection_type


def _store(endpoint: WorkflowEndpoint, connection_type: str, connector: Connector | None,
           configuration: dict | None) -> dict:
    endpoint.connection_type = connection_type
    endpoint.connector_instance_id = connector.id if connector is not None else None
    endpoint.configuration = configuration
    db.session.commit()
    return present(endpoint)


def update(who: Requester, endpoint: WorkflowEndpoint, data: dict,
           field_errors: Sequence[FieldMessage]) -> dict:
    """PATCH workflow/endpoint/{id}/: the endpoint rules on the effective (sent, else stored) values."""
    raise_if_any(field_errors, FIELDS)
    connection_type = _effective_connection_type(endpoint, data)
    if connection_type == "":
        return _store(endpoint, "", None, None)
    connector_id = data.get("connector_instance_id", endpoint.connector_instance_id)
    connector, messages = _check_connector(who, connection_type, connector_id)
    configuration, problems = _check_configuration(endpoint, connection_type, data, connector)
    messages.extend(problems)
    raise_if_any(messages, FIELDS)
    return _store(endpoint, connection_type, connector, configuration)
