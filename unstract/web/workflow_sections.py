"""What the workflow detail page shows, section by section, built from loaded rows (templates never query).

Each builder shows the stored state, or, after a failed post, what was posted with its errors; the views
of workflow_detail_pages, workflow_tools_pages and runs_pages render one section (htmx) or the whole page.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from unstract.errors import FieldMessage
from unstract.extensions import db
from unstract.jsonschemas import EXTENSION_GROUPS, READABLE_EXTENSIONS, settings_schema_for
from unstract.models import ALLOWED_CONNECTION_TYPES, EndpointType, ToolInstance, Workflow, WorkflowRole
from unstract.policy import Requester, is_owner
from unstract.services import endpoints, plans, sharing, tool_instances, workflow_pages
from unstract.services.workflow_pages import ConnectorChoice, Member
from unstract.tools.registry import TOOLS
from unstract.web.notification_section import notifications_section
from unstract.web.schedule_section import schedules_section
from unstract.web.schema_forms import FormField, build_fields, errors_by_attr, friendly, placed

ENDPOINT_SLUGS = {"source": EndpointType.SOURCE, "destination": EndpointType.DESTINATION}
CONNECTION_LABELS = {"": "Not configured", "FILESYSTEM": "File system", "DATABASE": "Database", "API": "API"}
ENDPOINT_FIELDS = ("connection_type", "connector_instance_id")
# The order a workflow usually needs its tools in: text first, then the fields found in it.
TOOL_ORDER = ("text_extractor", "field_extractor")


def _errors(messages: Sequence[FieldMessage], fields: list[FormField], own: tuple[str, ...] = ()) -> dict:
    """attr -> messages; what no input shows goes under '' (shown above the form)."""
    grouped = errors_by_attr(messages)
    grouped[""] = [friendly(m) for m in messages if m.attr not in own and not placed(fields, m.attr)]
    return grouped


# --- Header -----------------------------------------------------------------------------------

@dataclass
class Summary:
    id: uuid.UUID
    name: str
    description: str
    is_active: bool
    can_edit: bool
    owner_emails: list[str]
    created_by_email: str | None
    modified_at: datetime
    max_file_execution_count: int | None
    shared_to_org: bool


def summary(who: Requester, workflow: Workflow) -> Summary:
    owners = [m.user.email for m in workflow.memberships if m.role == WorkflowRole.OWNER and m.user]
    return Summary(id=workflow.id, name=workflow.workflow_name, description=workflow.description,
                   is_active=workflow.is_active, can_edit=is_owner(workflow, who), owner_emails=owners,
                   created_by_email=workflow.creator.email if workflow.creator else None,
                   modified_at=workflow.modified_at, max_file_execution_count=workflow.max_file_execution_count,
                   shared_to_org=workflow.shared_to_org)


# --- Source and destination -------------------------------------------------------------------

@dataclass
class EndpointSection:
    slug: str
    title: str
    workflow_id: uuid.UUID
    can_edit: bool
    connection_type: str
    connection_choices: list[tuple[str, str]]
    connector_id: str
    connector_label: str
    connector_choices: list[ConnectorChoice]
    needs_connector: bool
    fields: list[FormField]
    errors: dict = field(default_factory=dict)
    saved: bool = False
    missing: str | None = None  # what the stored endpoint lacks to run (shown as a warning)

    @property
    def message(self) -> str:
        return f"{self.title} saved." if self.saved else ""


def endpoint_section(who: Requester, workflow: Workflow, slug: str, *, can_edit: bool,
                     choices: dict[str, list[ConnectorChoice]] | None = None, connection_type: str | None = None,
                     connector_id: str | None = None, document: Any = None,
                     messages: Sequence[FieldMessage] = (), saved: bool = False) -> EndpointSection:
    """The stored endpoint, or the posted/previewed one (another connection type starts from defaults)."""
    endpoint = workflow.endpoint(ENDPOINT_SLUGS[slug])
    same_type = connection_type is None or connection_type == endpoint.connection_type
    ctype = endpoint.connection_type if connection_type is None else connection_type
    if document is None:
        document = endpoint.configuration if same_type else {}
    if connector_id is None:
        connector_id = str(endpoint.connector_instance_id or "") if same_type else ""
    mode = endpoints.MODE_FOR_CONNECTION.get(ctype)
    options = (choices if choices is not None else workflow_pages.connector_choices(who)).get(mode, []) if mode else []
    schema = settings_schema_for(endpoint.endpoint_type, ctype) or {}
    fields = build_fields(schema, document, "configuration", errors_by_attr(messages))
    label = next((c.name for c in options if str(c.id) == connector_id), "")
    allowed = ALLOWED_CONNECTION_TYPES[EndpointType(endpoint.endpoint_type)]
    return EndpointSection(
        slug=slug, title=slug.capitalize(), workflow_id=workflow.id, can_edit=can_edit, connection_type=ctype,
        connection_choices=[(value, CONNECTION_LABELS.get(value, value)) for value in allowed],
        connector_id=connector_id, connector_label=label, connector_choices=options, needs_connector=mode is not None,
        fields=fields, errors=_errors(messages, fields, ENDPOINT_FIELDS), saved=saved,
        missing=plans.endpoint_problem(workflow, endpoint.endpoint_type))


# --- Tools ------------------------------------------------------------------------------------

@dataclass
class ToolForm:
    """A step's settings form (or the add form, id None)."""

    id: uuid.UUID | None
    tool_id: str
    name: str
    description: str
    fields: list[FormField]
    errors: dict
    step: int = 0
    open: bool = False


@dataclass
class ToolsSection:
    workflow_id: uuid.UUID
    can_edit: bool
    steps: list[ToolForm]
    add: ToolForm
    tool_choices: list[tuple[str, str]]
    message: str = ""


def tool_form(tool_id: str, document: Any, prefix_id: uuid.UUID | None, *, step: int = 0,
              messages: Sequence[FieldMessage] = (), is_open: bool = False) -> ToolForm:
    spec = TOOLS.get(tool_id)
    schema = spec.settings_schema if spec else {}
    fields = build_fields(schema, document, "metadata", errors_by_attr(messages))
    return ToolForm(id=prefix_id, tool_id=tool_id, name=spec.name if spec else tool_id,
                    description=spec.description if spec else "", fields=fields,
                    errors=_errors(messages, fields, ("tool_id",)), step=step, open=is_open or bool(messages))


def tools_section(workflow: Workflow, *, can_edit: bool, edited: ToolForm | None = None,
                  add: ToolForm | None = None, message: str = "") -> ToolsSection:
    """The steps in order; `edited` replaces the form of one step (a failed save or a row added)."""
    instances = db.session.scalars(tool_instances.list_query(workflow)
                                   .execution_options(populate_existing=True)).all()
    steps = []
    for instance in instances:
        form = edited if edited is not None and edited.id == instance.id else tool_form(
            instance.tool_id, instance.metadata_, instance.id)
        form.step = instance.step
        steps.append(form)
    choices = [(tool["tool_id"], tool["name"]) for tool in tool_instances.tools()]
    choices.sort(key=lambda choice: TOOL_ORDER.index(choice[0]) if choice[0] in TOOL_ORDER else len(TOOL_ORDER))
    first = choices[0][0] if not steps or len(choices) == 1 else choices[1][0]
    return ToolsSection(workflow_id=workflow.id, can_edit=can_edit, steps=steps,
                        add=add or tool_form(first, {}, None), tool_choices=choices, message=message)


def step_instance(workflow: Workflow, instance_id: uuid.UUID) -> ToolInstance | None:
    return db.session.scalar(select(ToolInstance).where(ToolInstance.id == instance_id,
                                                        ToolInstance.workflow_id == workflow.id))


# --- Sharing ----------------------------------------------------------------------------------

@dataclass
class SharingSection:
    workflow_id: uuid.UUID
    can_edit: bool
    shared_to_org: bool
    members: list[tuple[Member, bool]]
    owners: list[dict]
    candidates: list[Member]
    errors: dict = field(default_factory=dict)
    message: str = ""

    @property
    def viewer_emails(self) -> list[str]:
        return [member.email for member, checked in self.members if checked]


def sharing_section(who: Requester, workflow: Workflow, *, can_edit: bool, shared_to_org: bool | None = None,
                    shared_ids: set[str] | None = None, messages: Sequence[FieldMessage] = (),
                    message: str = "") -> SharingSection:
    """Viewers (checkboxes over the non-owner members), the org-wide switch, and the owners."""
    details = sharing.sharing(workflow)
    owner_ids = {person["id"] for person in details["co_owners"]}
    if shared_ids is None:
        shared_ids = {str(person["id"]) for person in details["shared_users"]}
    people = [m for m in workflow_pages.org_members(who) if m.id not in owner_ids]
    grouped = {"shared_users": [m.detail for m in messages if (m.attr or "").split(".")[0] == "shared_users"],
               "user_id": [m.detail for m in messages if m.attr == "user_id"],
               "": [m.detail for m in messages if (m.attr or "").split(".")[0] not in ("shared_users", "user_id")]}
    return SharingSection(
        workflow_id=workflow.id, can_edit=can_edit,
        shared_to_org=details["shared_to_org"] if shared_to_org is None else shared_to_org,
        members=[(m, str(m.id) in shared_ids) for m in people], owners=details["co_owners"],
        candidates=people, errors=grouped, message=message)


# --- Run --------------------------------------------------------------------------------------

@dataclass
class RunSection:
    workflow_id: uuid.UUID
    source_type: str
    destination_type: str
    is_active: bool
    accept: str
    errors: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (source|destination, why a run is refused)


def run_section(workflow: Workflow, errors: Sequence[str] = ()) -> RunSection:
    """Upload form for API sources, a Run button otherwise; `accept` lists the allowed extensions."""
    source = workflow.endpoint(EndpointType.SOURCE)
    destination = workflow.endpoint(EndpointType.DESTINATION)
    groups = ((source.configuration or {}).get("fileExtensions") or []) if source else []
    extensions = set().union(*(EXTENSION_GROUPS.get(g, set()) for g in groups)) if groups else set(READABLE_EXTENSIONS)
    return RunSection(workflow_id=workflow.id, source_type=source.connection_type if source else "",
                      destination_type=destination.connection_type if destination else "",
                      is_active=workflow.is_active, accept=",".join(f".{e}" for e in sorted(extensions)),
                      errors=list(errors), missing=plans.missing_for_run(workflow))


# --- The page ---------------------------------------------------------------------------------

def detail_context(who: Requester, workflow: Workflow, **given: Any) -> dict:
    """Everything detail.html shows; `given` replaces sections (source, destination, tools, sharing, run)."""
    can_edit = is_owner(workflow, who)
    choices = workflow_pages.connector_choices(who)
    context = {"summary": summary(who, workflow), "can_edit": can_edit}
    for slug in ENDPOINT_SLUGS:
        context[slug] = given.get(slug) or endpoint_section(who, workflow, slug, can_edit=can_edit, choices=choices)
    context["tools"] = given.get("tools") or tools_section(workflow, can_edit=can_edit)
    context["sharing"] = given.get("sharing") or sharing_section(who, workflow, can_edit=can_edit)
    context["run"] = given.get("run") or run_section(workflow)
    context["schedules"] = given.get("schedules") or schedules_section(workflow, can_edit=can_edit)
    context["notifications"] = given.get("notifications") or notifications_section(workflow, can_edit=can_edit)
    return context
