"""The run plan: a snapshot of endpoints and tools taken when a run starts, and its checks (EXECUTION.md, Run plan)."""

from __future__ import annotations

import copy

from unstract.jsonschemas import load_document, settings_schema_for
from unstract.models import CONNECTOR_MODES, Workflow, WorkflowEndpoint
from unstract.tools.registry import TOOLS

CONNECTION_MODES = {"FILESYSTEM": "FILE_SYSTEM", "DATABASE": "DATABASE"}
DEFAULT_TOOL_CHAIN = [{"tool_id": "text_extractor", "metadata": {"normalize_whitespace": False, "max_pages": None}}]


class PlanError(Exception):
    """The workflow cannot run as configured; the message is user-facing (400 endpoint_not_configured)."""


def _endpoint_snapshot(endpoint: WorkflowEndpoint | None) -> dict:
    if endpoint is None:
        return {"connection_type": "", "connector": None, "configuration": None}
    connector = endpoint.connector
    return {
        "connection_type": endpoint.connection_type,
        "configuration": copy.deepcopy(endpoint.configuration),
        "connector": None if connector is None else {
            "id": str(connector.id),
            "connector_id": connector.connector_id,
            # Secrets stay sealed here; workers open them with the secret key when connecting.
            "metadata": copy.deepcopy(connector.connector_metadata),
        },
    }


def build_plan(workflow: Workflow) -> dict:
    """Both endpoints and the tool chain in step order; no tools means text extraction."""
    tools = [{"tool_id": t.tool_id, "metadata": copy.deepcopy(t.metadata_)}
             for t in sorted(workflow.tool_instances, key=lambda t: t.step)]
    return {
        "source": _endpoint_snapshot(workflow.endpoint("SOURCE")),
        "destination": _endpoint_snapshot(workflow.endpoint("DESTINATION")),
        "tools": tools or copy.deepcopy(DEFAULT_TOOL_CHAIN),
    }


def _check_endpoint(kind: str, endpoint_type: str, snapshot: dict) -> dict:
    """Validate one endpoint snapshot; returns its configuration with defaults filled."""
    connection_type = snapshot["connection_type"]
    if not connection_type:
        raise PlanError(f"The {kind} connection type is missing.")
    connector = snapshot["connector"]
    if connection_type in CONNECTION_MODES:
        if connector is None:
            raise PlanError(f"The {kind} connector is not configured.")
        if CONNECTOR_MODES.get(connector["connector_id"]) != CONNECTION_MODES[connection_type]:
            raise PlanError(f"The {kind} connector type {connector['connector_id']} cannot serve "
                            f"connection type {connection_type}.")
    schema = settings_schema_for(endpoint_type, connection_type)
    configuration, problems = load_document(snapshot["configuration"] or {}, schema or {}, "configuration")
    if problems:
        raise PlanError(f"The {kind} configuration is invalid: {problems[0].attr}: {problems[0].detail}.")
    table = (configuration or {}).get("table", "")
    if connection_type == "DATABASE" and "." in table and connector["connector_id"] != "postgresql":
        raise PlanError("A schema-qualified table name requires a postgresql connector.")
    return configuration


def validate_plan(plan: dict) -> dict:
    """Raise PlanError with the contract's message; returns the plan with configurations filled."""
    checked = copy.deepcopy(plan)
    checked["source"]["configuration"] = _check_endpoint("source", "SOURCE", plan["source"])
    checked["destination"]["configuration"] = _check_endpoint("destination", "DESTINATION", plan["destination"])
    for tool in checked["tools"]:
        if tool["tool_id"] not in TOOLS:
            raise PlanError(f"Unknown tool '{tool['tool_id']}'.")
    return checked
