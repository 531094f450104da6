"""First-start bootstrap: the default organization, its admin and the demo workflows (regular expressions,
and "Invoice extraction" with an LLM through an adapter the admin completes with a base URL and a key)."""

from __future__ import annotations

import secrets
import shutil
import string
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from unstract.config import Settings, secret_key_of
from unstract.extensions import db
from unstract.jsonschemas import DESTINATION_FILESYSTEM, SOURCE_FILESYSTEM, fill_defaults
from unstract.models import (
    CONNECTOR_MODES,
    Adapter,
    ConnectionType,
    Connector,
    EndpointType,
    Organization,
    OrgRole,
    ToolInstance,
    User,
    Workflow,
    WorkflowEndpoint,
    WorkflowMembership,
    WorkflowRole,
)
from unstract.services import accounts, adapters
from unstract.services import secrets as sealed
from unstract.tools.registry import load_tool_settings

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "demo" / "samples"
INVOICES_DIR = Path(__file__).resolve().parent.parent / "demo" / "invoices"
DEFAULT_ORG_ID = "default"
DEFAULT_ORG_NAME = "Default"
DEMO_CONNECTOR_NAME = "Demo storage"
DEMO_WORKFLOW_NAME = "Demo workflow"
DEMO_WORKFLOW_DESCRIPTION = "Extracts the invoice number and the total from the bundled sample documents."
GENERATED_PASSWORD_LENGTH = 20
INVOICE_WORKFLOW_NAME = "Invoice extraction"
INVOICE_WORKFLOW_DESCRIPTION = ("Extracts the number, date, vendor, line items and total of the sample invoices "
                                "(one of them scanned) with an LLM. Set the base URL, model and API key of the "
                                "“Demo LLM” adapter first.")
DEMO_ADAPTER_NAME = "Demo LLM"
DEMO_ADAPTER_CONFIG: dict[str, Any] = {
    "base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini", "timeout_seconds": 60, "max_retries": 3,
    "max_concurrency": 4, "input_cost_per_million": 0.15, "output_cost_per_million": 0.6,
    "supports_json_schema": True,
}
INVOICE_FIELDS: list[dict[str, Any]] = [
    {"name": "invoice_number", "prompt": "The invoice number, exactly as printed (for example INV-1001).",
     "type": "text", "required": True},
    {"name": "invoice_date", "prompt": "The date the invoice was issued.", "type": "date", "required": False},
    {"name": "vendor", "prompt": "The name of the company that issued the invoice.", "type": "text",
     "required": False},
    {"name": "line_items", "prompt": "Every billed item of the invoice.", "type": "line_items", "required": False,
     "columns": [{"name": "description", "type": "text"}, {"name": "quantity", "type": "number"},
                 {"name": "amount", "type": "number"}]},
    {"name": "total", "prompt": "The total amount due, as a number without a currency symbol.", "type": "number",
     "required": True},
]
DEMO_RULES: list[dict[str, Any]] = [
    {"name": "invoice_number", "pattern": r"Invoice (?:Number|No\.?)[:#]?\s*([A-Z0-9-]+)", "group": 1,
     "type": "string", "required": False},
    {"name": "total", "pattern": r"Total[:\s]*\$?([0-9][0-9,]*(?:\.[0-9]+)?)", "group": 1,
     "type": "number", "required": False},
]


@dataclass(frozen=True)
class BootstrapResult:
    """What the first start created; `generated_password` is set only when it must be shown."""

    admin_email: str
    generated_password: str | None
    workflow_id: uuid.UUID


def needs_bootstrap(settings: Settings) -> bool:
    """Bootstrap runs only when enabled and the database holds no organization."""
    return settings.bootstrap and db.session.scalar(select(Organization.id).limit(1)) is None


def bootstrap(settings: Settings, *, secret_key: str | None = None) -> BootstrapResult | None:
    """Create the bootstrap rows in one transaction; None when there was nothing to do. `secret_key` seals
    the demo adapter's placeholder key (the app's SECRET_KEY; by default the one the settings give)."""
    if not needs_bootstrap(settings):
        return None
    try:
        result = _create_rows(settings, secret_key or secret_key_of(settings))
        db.session.commit()
    except IntegrityError:  # another process bootstrapped at the same moment
        db.session.rollback()
        return None
    except Exception:
        db.session.rollback()
        raise
    return result


def _create_rows(settings: Settings, secret_key: str) -> BootstrapResult:
    org = Organization(org_id=DEFAULT_ORG_ID, name=DEFAULT_ORG_NAME)
    db.session.add(org)
    db.session.flush()
    admin, generated = _create_admin(settings)
    demo_root = copy_samples(Path(settings.local_storage_roots[0]))
    connector = _demo_connector(org, admin, demo_root)
    workflow = _demo_workflow(org, admin, connector)
    _invoice_workflow(org, admin, connector, _demo_adapter(org, admin, secret_key))
    return BootstrapResult(admin_email=admin.email, generated_password=generated, workflow_id=workflow.id)


def generate_password(length: int = GENERATED_PASSWORD_LENGTH) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _create_admin(settings: Settings) -> tuple[User, str | None]:
    """The admin of `default`; returns the password to show when one was generated for a new user."""
    if settings.admin_password is not None:
        password, generated = settings.admin_password, None
    elif accounts.find_user(settings.admin_email) is not None:
        password, generated = generate_password(), None  # an existing user keeps their own password
    else:
        password = generated = generate_password()
    user = accounts.add_user(settings.admin_email, password, DEFAULT_ORG_ID, OrgRole.ADMIN, commit=False)
    return user, generated


def copy_samples(first_root: Path) -> Path:
    """Copy the bundled samples to `<first root>/demo/samples/` and the invoices to `<first root>/demo/invoices/`;
    returns `<first root>/demo`."""
    demo_root = first_root / "demo"
    for folder, files in (("samples", sample_files()), ("invoices", sample_files(INVOICES_DIR))):
        target = demo_root / folder
        target.mkdir(parents=True, exist_ok=True)
        for sample in files:
            shutil.copyfile(sample, target / sample.name)
    return demo_root


def sample_files(directory: Path = SAMPLES_DIR) -> list[Path]:
    """The bundled demo documents (unstract/demo/samples, or the invoices of unstract/demo/invoices)."""
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith((".", "_")))


def _demo_connector(org: Organization, admin: User, demo_root: Path) -> Connector:
    connector = Connector(
        organization_id=org.id, connector_name=DEMO_CONNECTOR_NAME, connector_id="local_storage",
        connector_metadata={"path": str(demo_root)}, connector_mode=CONNECTOR_MODES["local_storage"],
        created_by=admin.id,
    )
    db.session.add(connector)
    db.session.flush()
    return connector


def _folder_workflow(org: Organization, admin: User, connector: Connector, name: str, description: str,
                     folders: tuple[str, str], steps: list[tuple[str, dict[str, Any]]]) -> Workflow:
    """A demo workflow shared to the org: files of the connector's `folders[0]` to `folders[1]`, through `steps`."""
    workflow = Workflow(
        organization_id=org.id, workflow_name=name, description=description,
        shared_to_org=True, is_active=True, workflow_owner=admin.id, created_by=admin.id,
        modified_by=admin.id,
    )
    workflow.memberships.append(WorkflowMembership(user_id=admin.id, role=WorkflowRole.OWNER))
    workflow.endpoints.extend([
        WorkflowEndpoint(endpoint_type=EndpointType.SOURCE, connection_type=ConnectionType.FILESYSTEM,
                         connector_instance_id=connector.id,
                         configuration=fill_defaults({"folders": [folders[0]]}, SOURCE_FILESYSTEM)),
        WorkflowEndpoint(endpoint_type=EndpointType.DESTINATION, connection_type=ConnectionType.FILESYSTEM,
                         connector_instance_id=connector.id,
                         configuration=fill_defaults({"outputFolder": folders[1]}, DESTINATION_FILESYSTEM)),
    ])
    workflow.tool_instances.extend(
        ToolInstance(tool_id=tool_id, step=step, metadata_=_tool_settings(tool_id, metadata))
        for step, (tool_id, metadata) in enumerate(steps, start=1))
    db.session.add(workflow)
    db.session.flush()
    return workflow


def _demo_workflow(org: Organization, admin: User, connector: Connector) -> Workflow:
    return _folder_workflow(org, admin, connector, DEMO_WORKFLOW_NAME, DEMO_WORKFLOW_DESCRIPTION,
                            ("samples", "output"),
                            [("text_extractor", {}), ("field_extractor", {"rules": DEMO_RULES})])


def _demo_adapter(org: Organization, admin: User, secret_key: str) -> Adapter:
    """The adapter of the invoice demo, with a placeholder key: its calls fail with a clear message until an
    org admin sets the real base URL, model and key (services.adapters.UNCONFIGURED_KEY)."""
    adapter = Adapter(organization_id=org.id, name=DEMO_ADAPTER_NAME, adapter_type="llm", provider="openai",
                      config=dict(DEMO_ADAPTER_CONFIG), created_by=admin.id,
                      sealed_api_key=sealed.seal_value(adapters.UNCONFIGURED_KEY, secret_key),
                      api_key_last4=adapters.hint_tail(adapters.UNCONFIGURED_KEY))
    db.session.add(adapter)
    db.session.flush()
    return adapter


def _invoice_workflow(org: Organization, admin: User, connector: Connector, adapter: Adapter) -> Workflow:
    return _folder_workflow(org, admin, connector, INVOICE_WORKFLOW_NAME, INVOICE_WORKFLOW_DESCRIPTION,
                            ("invoices", "invoice-output"),
                            [("text_extractor", {"mode": "auto"}),
                             ("llm_extractor", {"adapter_id": str(adapter.id), "fields": INVOICE_FIELDS})])


def _tool_settings(tool_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The tool's settings with defaults filled in; the demo's own settings are always valid."""
    settings, errors = load_tool_settings(tool_id, metadata)
    if settings is None:
        raise RuntimeError(f"Invalid demo settings for {tool_id}: {errors}")
    return settings
