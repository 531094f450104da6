"""Rows for tests, written straight through the models (no API, no engine): the one factories module.

Every factory commits, so API requests made afterwards see the rows, and accepts any model
column as a keyword to override its default. Typical use with the `world` fixture:

    workflow = make_workflow(world.users["owner"], "acme", viewers=[world.users["viewer"]])
    inbox = make_connector("acme", "Inbox", "local_storage", {"path": str(storage_root)})
    configure(workflow, "SOURCE", "FILESYSTEM", inbox, folders=["in"])
    add_tool(workflow, "text_extractor")
    execution = make_execution(workflow, status="COMPLETED", total_files=2)
    first = make_file_execution(execution, status="COMPLETED")
    make_log(execution, "Processing file 'a.txt' (attempt 1).", file_execution=first)
    make_history(workflow, file_path="invoices/a.pdf", status="ERROR", execution_count=3)
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import uuid
from datetime import datetime

from sqlalchemy import func, insert, select

from tests.support import ApiClient
from unstract.extensions import db
from unstract.jsonschemas import (
    DESTINATION_DATABASE,
    DESTINATION_FILESYSTEM,
    SOURCE_API,
    SOURCE_FILESYSTEM,
    fill_defaults,
)
from unstract.models import (
    CONNECTOR_MODES,
    LEVEL_ORDER,
    Connector,
    EndpointType,
    Execution,
    ExecutionLog,
    FileExecution,
    FileHistory,
    Organization,
    Schedule,
    Stage,
    ToolInstance,
    User,
    Workflow,
    WorkflowEndpoint,
    WorkflowMembership,
    WorkflowRole,
)
from unstract.models.base import utcnow
from unstract.services.secrets import seal_metadata
from unstract.tools.registry import TOOLS

_sequence = itertools.count(1)


def _next() -> int:
    return next(_sequence)


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def organization(org: Organization | str | uuid.UUID) -> Organization:
    """An Organization given itself, its `org_id` string or its primary key."""
    if isinstance(org, Organization):
        return org
    if isinstance(org, uuid.UUID):
        return db.session.get(Organization, org)
    return db.session.scalar(select(Organization).where(Organization.org_id == org))


def _save(row):
    db.session.add(row)
    db.session.commit()
    return row


# --- Workflows ---------------------------------------------------------------------------------

def make_workflow(owner_user: User, org: Organization | str, *, viewers: tuple[User, ...] | list = (),
                  **fields) -> Workflow:
    """A workflow of `org` created by `owner_user` (owner membership), with both endpoints empty.

    `org` is an Organization or its `org_id` string; `viewers` get viewer memberships;
    `fields` override Workflow columns (e.g. shared_to_org=True, max_file_execution_count=5).
    """
    values = {"workflow_name": f"Workflow {_next()}", "workflow_owner": owner_user.id,
              "created_by": owner_user.id, "modified_by": owner_user.id, **fields}
    workflow = Workflow(organization_id=organization(org).id, **values)
    workflow.memberships.append(WorkflowMembership(user_id=owner_user.id, role=WorkflowRole.OWNER))
    for viewer in viewers:
        workflow.memberships.append(WorkflowMembership(user_id=viewer.id, role=WorkflowRole.VIEWER))
    for endpoint_type in (EndpointType.SOURCE, EndpointType.DESTINATION):
        workflow.endpoints.append(WorkflowEndpoint(endpoint_type=endpoint_type, connection_type=""))
    return _save(workflow)


def acme_workflow(world, name: str = "Invoices", *, viewers: tuple[str, ...] = ("viewer",), **fields) -> Workflow:
    """The usual scene: a workflow of acme owned by `owner`, shared with the named `world` users as viewers."""
    return make_workflow(world.users["owner"], "acme", workflow_name=name,
                         viewers=[world.users[viewer] for viewer in viewers], **fields)


def add_membership(workflow: Workflow, user: User, role: str = WorkflowRole.VIEWER) -> WorkflowMembership:
    """Share `workflow` with `user` as viewer (default) or co-owner."""
    return _save(WorkflowMembership(workflow_id=workflow.id, user_id=user.id, role=role))


def endpoint_id(workflow_id: uuid.UUID, endpoint_type: str) -> uuid.UUID:
    return db.session.scalar(select(WorkflowEndpoint.id).where(
        WorkflowEndpoint.workflow_id == workflow_id, WorkflowEndpoint.endpoint_type == endpoint_type))


# --- Connectors, endpoints and tools -----------------------------------------------------------

SCHEMAS = {("SOURCE", "FILESYSTEM"): SOURCE_FILESYSTEM, ("SOURCE", "API"): SOURCE_API,
           ("DESTINATION", "FILESYSTEM"): DESTINATION_FILESYSTEM, ("DESTINATION", "DATABASE"): DESTINATION_DATABASE,
           ("DESTINATION", "API"): {}}


def make_connector(org: Organization | str | uuid.UUID, name: str = "Inbox", connector_id: str = "local_storage",
                   metadata: dict | None = None, *, created_by: User | None = None,
                   secret_key: str = "test-secret-key") -> Connector:
    """A connector row without the API's checks; its secrets are sealed as the API would store them."""
    metadata = metadata if metadata is not None else {"path": "/nowhere"}
    connector = Connector(organization_id=organization(org).id, connector_name=name, connector_id=connector_id,
                          connector_metadata=seal_metadata(connector_id, metadata, secret_key),
                          connector_mode=CONNECTOR_MODES[connector_id],
                          created_by=created_by.id if created_by else None)
    return _save(connector)


def configure(workflow: Workflow, endpoint_type: str, connection_type: str, connector=None, **config) -> None:
    """Point one endpoint at `connector` with `config` completed by the settings schema's defaults."""
    endpoint = workflow.endpoint(endpoint_type)
    endpoint.connection_type = connection_type
    endpoint.connector_instance_id = connector.id if connector else None
    endpoint.configuration = fill_defaults(copy.deepcopy(config), SCHEMAS[(endpoint_type, connection_type)])
    db.session.commit()


def add_tool(workflow: Workflow, tool_id: str, **settings) -> None:
    """Append a tool step with `settings` completed by the tool's defaults."""
    step = len(workflow.tool_instances) + 1
    metadata = fill_defaults(settings, TOOLS[tool_id].settings_schema)
    db.session.add(ToolInstance(workflow_id=workflow.id, tool_id=tool_id, step=step, metadata_=metadata))
    db.session.commit()
    db.session.refresh(workflow)


# --- Executions --------------------------------------------------------------------------------

def make_execution(workflow: Workflow, **fields) -> Execution:
    """An execution of `workflow` in its organization; defaults to a PENDING COMPLETE run."""
    values = {"created_by": workflow.created_by, "execution_mode": "QUEUE", **fields}
    return _save(Execution(workflow_id=workflow.id, organization_id=workflow.organization_id, **values))


def make_file_execution(execution: Execution, **fields) -> FileExecution:
    """A file execution numbered after the execution's last one, with a name, hash and type."""
    number = fields.pop("file_number", None) or _next_file_number(execution)
    name = fields.pop("file_name", f"file-{number}.txt")
    values = {"file_path": f"input/{name}", "file_size": 100, "file_hash": sha256_of(name),
              "mime_type": "text/plain", **fields}
    return _save(FileExecution(execution_id=execution.id, file_number=number, file_name=name, **values))


def _next_file_number(execution: Execution) -> int:
    last = db.session.scalar(
        select(func.max(FileExecution.file_number)).where(FileExecution.execution_id == execution.id)
    )
    return (last or 0) + 1


# --- Logs --------------------------------------------------------------------------------------

def make_log(execution: Execution, message: str = "Log message.", *, level: str = "INFO",
             stage: str = Stage.PROCESSING, file_execution: FileExecution | None = None,
             step: int | None = None, event_time: datetime | None = None) -> ExecutionLog:
    """A log row whose `data` document has the shape of the logs/ endpoint's items (as the engine writes it)."""
    event_time = event_time or utcnow()
    file_execution_id = file_execution.id if file_execution else None
    data = {
        "timestamp": event_time.timestamp(), "type": "LOG", "level": level, "stage": stage,
        "log": message, "step": step, "execution_id": str(execution.id),
        "file_execution_id": str(file_execution_id) if file_execution_id else None,
        "organization_id": _org_id_of(execution),
    }
    return _save(ExecutionLog(execution_id=execution.id, file_execution_id=file_execution_id,
                              event_time=event_time, level=level, level_rank=LEVEL_ORDER[level],
                              stage=stage, data=data))


def _org_id_of(execution: Execution) -> str:
    return db.session.scalar(select(Organization.org_id).where(Organization.id == execution.organization_id))


# --- File history ------------------------------------------------------------------------------

def history_values(workflow: Workflow, **fields) -> dict:
    """Column values of one file history row; a unique content hash unless `cache_key` is given."""
    file_path = fields.pop("file_path", f"input/file-{_next()}.txt")
    name = file_path.rsplit("/", 1)[-1] if file_path else "upload.txt"
    return {
        "workflow_id": workflow.id, "cache_key": sha256_of(f"content-{_next()}"),
        "file_path": file_path, "path_key": file_path or "", "status": "COMPLETED",
        "execution_count": 1, "error": "", "result": None,
        "metadata_": {"file_name": name, "file_size": 100, "mime_type": "text/plain",
                      "execution_id": None, "file_execution_id": None},
        **fields,
    }


def make_history(workflow: Workflow, **fields) -> FileHistory:
    """One file history row of `workflow`; `file_path=None` makes an upload's row."""
    return _save(FileHistory(**history_values(workflow, **fields)))


def make_histories(workflow: Workflow, count: int, **fields) -> int:
    """`count` rows in one bulk INSERT (distinct paths and hashes); returns `count`."""
    rows = [history_values(workflow, **fields) for _ in range(count)]
    db.session.execute(insert(FileHistory), rows)
    db.session.commit()
    return count


# --- Callers for authorization matrices --------------------------------------------------------

def api_callers(world, client) -> dict:
    """One ApiClient per row of the usual authorization matrix (full_access keys unless named).

    `org_shared` and `unrelated` are the same plain member: aim `org_shared` at a workflow with
    shared_to_org=True and `unrelated` at a private one. `other_org` calls its own org's base,
    `anonymous` sends no credentials, `read_key` is the owner with a read-tier key.
    """
    return {
        "owner": world.api("owner"),
        "viewer": world.api("viewer"),
        "org_shared": world.api("member"),
        "unrelated": world.api("member"),
        "admin": world.api("admin"),
        "other_org": world.api("outsider", org_id="other"),
        "anonymous": ApiClient(client, "acme"),
        "read_key": world.api("owner", "read"),
    }


def make_schedule(workflow: Workflow, cron: str = "0 6 * * *", **fields) -> Schedule:
    """A schedule of `workflow` created by its creator, next due at its first due time from now."""
    from unstract.services.cron import next_run_after

    values = {"timezone": "UTC", "is_active": True, **fields}
    schedule = Schedule(organization_id=workflow.organization_id, workflow_id=workflow.id, cron=cron,
                        created_by=workflow.created_by, **values)
    if schedule.is_active and "next_run_at" not in fields:
        schedule.next_run_at = next_run_after(cron, schedule.timezone, utcnow())
    return _save(schedule)
