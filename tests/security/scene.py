"""One organization's objects for the security tests: every kind of object a path or a body can name."""

from __future__ import annotations

import itertools
from pathlib import Path

from tests.factories import (
    add_membership,
    add_tool,
    configure,
    endpoint_id,
    make_connector,
    make_execution,
    make_file_execution,
    make_history,
    make_log,
    make_schedule,
    make_workflow,
)
from tests.llm.factories import make_adapter
from unstract.extensions import db
from unstract.models import ApiDeployment, Delivery, DeploymentKey, Notification, Workflow
from unstract.policy import hash_api_key

_serial = itertools.count(1)


def runnable_workflow(owner, org_id: str, connector, **fields) -> Workflow:
    """A workflow whose execute call is accepted: local folder source, API destination, one tool."""
    workflow = make_workflow(owner, org_id, **fields)
    configure(workflow, "SOURCE", "FILESYSTEM", connector)
    configure(workflow, "DESTINATION", "API")
    add_tool(workflow, "text_extractor")
    return workflow


def workflow_ids(workflow: Workflow) -> dict:
    """Ids of a workflow and of one object of each kind that hangs off it."""
    execution = make_execution(workflow, status="COMPLETED", total_files=1, successful_files=1)
    file_execution = make_file_execution(execution, status="COMPLETED")
    make_log(execution, "Processing file.", file_execution=file_execution)
    history = make_history(workflow, status="COMPLETED")
    schedule = make_schedule(workflow)
    notification = Notification(workflow_id=workflow.id, url="https://93.184.215.14/hook", secret="sealed")
    db.session.add(notification)
    db.session.flush()
    delivery = Delivery(notification_id=notification.id, execution_id=execution.id, event="execution.completed",
                        status="failed")
    db.session.add(delivery)
    db.session.commit()
    return {
        "workflow_id": str(workflow.id), "execution_id": str(execution.id), "history_id": str(history.id),
        "file_execution_id": str(file_execution.id), "instance_id": str(workflow.tool_instances[0].id),
        "endpoint_id": str(endpoint_id(workflow.id, "SOURCE")),
        "destination_id": str(endpoint_id(workflow.id, "DESTINATION")), "schedule_id": str(schedule.id),
        "notification_id": str(notification.id), "delivery_id": str(delivery.id),
    }


def deployment_ids(owner, org_id: str, kind: str, serial: int, co_owner=None, **fields) -> dict:
    """An API workflow like the kind's workflow, deployed, with one key (the API deployment routes)."""
    workflow = make_workflow(owner, org_id, **fields)
    if co_owner is not None:
        add_membership(workflow, co_owner, "owner")
    configure(workflow, "SOURCE", "API")
    configure(workflow, "DESTINATION", "API")
    deployment = ApiDeployment(organization_id=workflow.organization_id, workflow_id=workflow.id,
                               display_name=f"{kind} {serial}", api_name=f"{kind}{serial}", created_by=owner.id)
    db.session.add(deployment)
    db.session.flush()
    key = DeploymentKey(deployment_id=deployment.id, key_hash=hash_api_key(f"ud_{kind}{serial}"), key_prefix="ud_")
    db.session.add(key)
    db.session.commit()
    return {"api_workflow_id": str(workflow.id), "deployment_id": str(deployment.id), "key_id": str(key.id)}


def build_scene(world, org_id: str, owner: str, root: Path, *, viewers: tuple[str, ...] = (),
                co_owner=None) -> dict:
    """A private workflow (shared with `viewers`) and an org-shared one, each with its runs and rows.

    Returns {"private": ids, "shared": ids, "connector_id": a connector no endpoint uses,
    "user_id": a co-owner of both workflows (when given), "serial": a number for unique names}.
    """
    serial = next(_serial)
    folder = root / f"{org_id}-{serial}"
    folder.mkdir(parents=True, exist_ok=True)
    metadata = {"path": str(folder)}
    used = make_connector(org_id, f"Used {serial}", metadata=metadata, created_by=world.users[owner])
    free = make_connector(org_id, f"Free {serial}", metadata=metadata, created_by=world.users[owner])
    user = world.users[owner]
    adapter = make_adapter(org_id, "http://127.0.0.1:9/v1", name=f"Adapter {serial}", max_retries=0)
    scene = {"connector_id": str(free.id), "adapter_id": str(adapter.id), "serial": serial, "folder": str(folder)}
    for kind, shared in (("private", False), ("shared", True)):
        workflow = runnable_workflow(user, org_id, used, shared_to_org=shared,
                                     viewers=[world.users[name] for name in viewers])
        if co_owner is not None:
            add_membership(workflow, co_owner, "owner")
        scene[kind] = workflow_ids(workflow)
        scene[kind].update(deployment_ids(user, org_id, kind, serial, co_owner, shared_to_org=shared,
                                          viewers=[world.users[name] for name in viewers]))
    scene["user_id"] = str(co_owner.id) if co_owner is not None else None
    return scene
