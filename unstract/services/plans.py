"""The run plan: a snapshot of endpoints and tools taken when a run starts, and its checks (EXECUTION.md, Run plan)."""

from __future__ import annotations

import copy
from dataclasses import replace

from unstract.connectors import registry
from unstract.jsonschemas import TOOL_SETTINGS, fill_defaults, load_document, settings_schema_for
from unstract.models import Workflow, WorkflowEndpoint
from unstract.models.plan import ConnectorSnapshot, EndpointSnapshot, ExecutionPlan, ToolStep
from unstract.tools.registry import TOOLS

CONNECTION_MODES = {"FILESYSTEM": "FILE_SYSTEM", "DATABASE": "DATABASE"}
DEFAULT_TOOL_CHAIN = (ToolStep("text_extractor", fill_defaults({}, TOOL_SETTINGS["text_extractor"])),)


class PlanError(Exception):
    """The workflow cannot run as configured; the message is user-facing (400 endpoint_not_configured)."""


def _endpoint_snapshot(endpoint: WorkflowEndpoint | None) -> EndpointSnapshot:
    if endpoint is None:
        return EndpointSnapshot()
    connector = endpoint.connector
    return EndpointSnapshot(
        connection_type=endpoint.connection_type,
        configuration=copy.deepcopy(endpoint.configuration),
        # Secrets stay sealed here; workers open them with the secret key when connecting.
        connector=None if connector is None else ConnectorSnapshot(
            str(connector.id), connector.connector_id, copy.deepcopy(connector.connector_metadata)),
    )


def build_plan(workflow: Workflow) -> ExecutionPlan:
    """Both endpoints and the tool chain in step order; no tools means text extraction."""
    tools = tuple(ToolStep(t.tool_id, copy.deepcopy(t.metadata_))
                  for t in sorted(workflow.tool_instances, key=lambda t: t.step))
    return ExecutionPlan(
        source=_endpoint_snapshot(workflow.endpoint("SOURCE")),
        destination=_endpoint_snapshot(workflow.endpoint("DESTINATION")),
        tools=tools or copy.deepcopy(DEFAULT_TOOL_CHAIN),
    )


def _check_connector(kind: str, snapshot: EndpointSnapshot) -> None:
    """The endpoint's connector must exist and be of the mode its connection type needs."""
    connector = snapshot.connector
    if connector is None:
        raise PlanError(f"The {kind} connector is not configured.")
    connector_type = registry.find(connector.connector_id)
    if connector_type is None or connector_type.mode != CONNECTION_MODES[snapshot.connection_type]:
        raise PlanError(f"The {kind} connector type {connector.connector_id} cannot serve "
                        f"connection type {snapshot.connection_type}.")


def _check_endpoint(kind: str, endpoint_type: str, snapshot: EndpointSnapshot) -> dict:
    """Validate one endpoint snapshot; returns its configuration with defaults filled."""
    connection_type = snapshot.connection_type
    if not connection_type:
        raise PlanError(f"The {kind} connection type is missing.")
    if connection_type in CONNECTION_MODES:
        _check_connector(kind, snapshot)
    schema = settings_schema_for(endpoint_type, connection_type)
    configuration, problems = load_document(snapshot.configuration or {}, schema or {}, "configuration")
    if problems:
        raise PlanError(f"The {kind} configuration is invalid: {problems[0].attr}: {problems[0].detail}.")
    table = (configuration or {}).get("table", "")
    if connection_type == "DATABASE" and "." in table \
            and not registry.database_type(snapshot.connector.connector_id).schema_qualified_tables:
        raise PlanError("A schema-qualified table name requires a postgresql connector.")
    return configuration


def validate_plan(plan: ExecutionPlan) -> ExecutionPlan:
    """Raise PlanError with the contract's message; returns the plan with configurations filled."""
    source = replace(plan.source, configuration=_check_endpoint("source", "SOURCE", plan.source))
    destination = replace(plan.destination,
                          configuration=_check_endpoint("destination", "DESTINATION", plan.destination))
    for tool in plan.tools:
        if tool.tool_id not in TOOLS:
            raise PlanError(f"Unknown tool '{tool.tool_id}'.")
    return replace(plan, source=source, destination=destination)


ENDPOINT_KINDS = (("source", "SOURCE"), ("destination", "DESTINATION"))


def endpoint_problem(workflow: Workflow, endpoint_type: str) -> str | None:
    """What keeps one endpoint from running (the start check's message), None when it is complete."""
    kind = dict((t, k) for k, t in ENDPOINT_KINDS)[endpoint_type]
    try:
        _check_endpoint(kind, endpoint_type, _endpoint_snapshot(workflow.endpoint(endpoint_type)))
    except PlanError as exc:
        return str(exc)
    return None


def missing_for_run(workflow: Workflow) -> list[tuple[str, str]]:
    """(source|destination, problem) for every endpoint a run would be refused for, source first: shown
    before anyone clicks Run."""
    return [(kind, problem) for kind, endpoint_type in ENDPOINT_KINDS
            if (problem := endpoint_problem(workflow, endpoint_type)) is not None]
