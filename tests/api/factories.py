"""Rows written straight to the database for the configuration tests (workflows, connectors)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from unstract.extensions import db
from unstract.models import (
    CONNECTOR_MODES,
    Connector,
    EndpointType,
    Organization,
    Workflow,
    WorkflowEndpoint,
    WorkflowMembership,
    WorkflowRole,
)


def org(org_id: str = "acme") -> Organization:
    return db.session.scalar(select(Organization).where(Organization.org_id == org_id))


def make_workflow(world, name: str = "Invoices", *, owner: str = "owner",
                  viewers: tuple[str, ...] = ("viewer",), shared_to_org: bool = False,
                  org_id: str = "acme") -> Workflow:
    """A workflow as POST workflow/ leaves it: owner and viewer memberships, two empty endpoints."""
    creator = world.users[owner].id
    workflow = Workflow(organization_id=org(org_id).id, workflow_name=name, workflow_owner=creator,
                        created_by=creator, modified_by=creator, shared_to_org=shared_to_org)
    db.session.add(workflow)
    db.session.flush()
    db.session.add(WorkflowMembership(workflow_id=workflow.id, user_id=creator, role=WorkflowRole.OWNER))
    for viewer in viewers:
        db.session.add(WorkflowMembership(workflow_id=workflow.id, user_id=world.users[viewer].id,
                                          role=WorkflowRole.VIEWER))
    for endpoint_type in (EndpointType.DESTINATION, EndpointType.SOURCE):
        db.session.add(WorkflowEndpoint(workflow_id=workflow.id, endpoint_type=endpoint_type,
                                        connection_type="", configuration=None))
    db.session.commit()
    return workflow


def endpoint_id(workflow_id: uuid.UUID, endpoint_type: str) -> uuid.UUID:
    return db.session.scalar(select(WorkflowEndpoint.id).where(
        WorkflowEndpoint.workflow_id == workflow_id, WorkflowEndpoint.endpoint_type == endpoint_type))


def make_connector(world, name: str = "Inbox", connector_id: str = "local_storage", *,
                   metadata: dict | None = None, creator: str = "owner", org_id: str = "acme") -> Connector:
    """A connector row without the API's checks (its metadata is stored as given)."""
    connector = Connector(organization_id=org(org_id).id, connector_name=name, connector_id=connector_id,
                          connector_mode=CONNECTOR_MODES[connector_id], created_by=world.users[creator].id,
                          connector_metadata=metadata if metadata is not None else {"path": "/nowhere"})
    db.session.add(connector)
    db.session.commit()
    return connector


def use_connector(workflow_id: uuid.UUID, endpoint_type: str, connector: Connector,
                  connection_type: str) -> None:
    endpoint = db.session.get(WorkflowEndpoint, endpoint_id(workflow_id, endpoint_type))
    endpoint.connection_type = connection_type
    endpoint.connector_instance_id = connector.id
    endpoint.configuration = {}
    db.session.commit()
