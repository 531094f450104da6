"""First-start bootstrap: the default organization, its admin and the demo workflow."""

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

from unstract.config import Settings
from unstract.extensions import db
from unstract.jsonschemas import DESTINATION_FILESYSTEM, SOURCE_FILESYSTEM, fill_defaults
from unstract.models import (
    CONNECTOR_MODES,
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
from unstract.services import accounts
from unstract.tools.registry import load_tool_settings

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "demo" / "samples"
DEFAULT_ORG_ID = "default"
DEFAULT_ORG_NAME = "Default"
DEMO_CONNECTOR_NAME = "Demo storage"
DEMO_WORKFLOW_NAME = "Demo workflow"
DEMO_WORKFLOW_DESCRIPTION = "Extracts the invoice number and the total from the bundled sample documents."
GENERATED_PASSWORD_LENGTH = 20
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


def bootstrap(settings: Settings) -> BootstrapResult | None:
    """Create the bootstrap rows in one transaction; None when there was nothing to do."""
    if not needs_bootstrap(settings):
        return None
    try:
        result = _create_rows(settings)
        db.session.commit()
    except IntegrityError:  # another process bootstrapped at the same moment
        db.session.rollback()
        return None
    except Exception:
        db.session.rollback()
        raise
    return result


def _create_rows(settings: Settings) -> BootstrapResult:
    org = Organization(org_id=DEFAULT_ORG_ID, name=DEFAULT_ORG_NAME)
    db.session.add(org)
    db.session.flush()
    admin, generated = _create_admin(settings)
    demo_root = copy_samples(Path(settings.local_storage_roots[0]))
    workflow = _demo_workflow(org, admin, _demo_connector(org, admin, demo_root))
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
    """Copy the bundled samples to `<first root>/demo/samples/`; returns `<first root>/demo`."""
    demo_root = first_root / "demo"
    target = demo_root / "samples"
    target.mkdir(parents=True, exist_ok=True)
    for sample in sample_files():
        shutil.copyfile(sample, target / sample.name)
    return demo_root


def sample_files() -> list[Path]:
    """The bundled demo documents (unstract/demo/samples)."""
    return sorted(p for p in SAMPLES_DIR.iterdir() if p.is_file() and not p.name.startswith((".", "_")))


def _demo_connector(org: Organization, admin: User, demo_root: Path) -> Connector:
    connector = Connector(
        organization_id=org.id, connector_name=DEMO_CONNECTOR_NAME, connector_id="local_storage",
        connector_metadata={"path": str(demo_root)}, connector_mode=CONNECTOR_MODES["local_storage"],
        created_by=admin.id,
    )
    db.session.add(connector)
    db.session.flush()
    return connector


def _demo_workflow(org: Organization, admin: User, connector: Connector) -> Workflow:
    workflow = Workflow(
        organization_id=org.id, workflow_name=DEMO_WORKFLOW_NAME, description=DEMO_WORKFLOW_DESCRIPTION,
        shared_to_org=True, is_active=True, workflow_owner=admin.id, created_by=admin.id,
        modified_by=admin.id,
    )
    workflow.memberships.append(WorkflowMembership(user_id=admin.id, role=WorkflowRole.OWNER))
    workflow.endpoints.extend([
        WorkflowEndpoint(endpoint_type=EndpointType.SOURCE, connection_type=ConnectionType.FILESYSTEM,
                         connector_instance_id=connector.id,
                         configuration=fill_defaults({"folders": ["samples"]}, SOURCE_FILESYSTEM)),
        WorkflowEndpoint(endpoint_type=EndpointType.DESTINATION, connection_type=ConnectionType.FILESYSTEM,
                         connector_instance_id=connector.id,
                         configuration=fill_defaults({"outputFolder": "output"}, DESTINATION_FILESYSTEM)),
    ])
    workflow.tool_instances.extend([
        ToolInstance(tool_id="text_extractor", step=1, metadata_=_tool_settings("text_extractor", {})),
        ToolInstance(tool_id="field_extractor", step=2,
                     metadata_=_tool_settings("field_extractor", {"rules": DEMO_RULES})),
    ])
    db.session.add(workflow)
    db.session.flush()
    return workflow


def _tool_settings(tool_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The tool's settings with defaults filled in; the demo's own settings are always valid."""
    settings, errors = load_tool_settings(tool_id, metadata)
    if settings is None:
        raise RuntimeError(f"Invalid demo settings for {tool_id}: {errors}")
    return settings
