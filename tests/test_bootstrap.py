"""First-start bootstrap: exactly the default org, its admin and the demo workflows, once."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import func, select

from unstract import errors
from unstract.extensions import db
from unstract.models import (
    Adapter,
    ApiKey,
    Connector,
    Organization,
    OrgMembership,
    ToolInstance,
    User,
    Workflow,
    WorkflowEndpoint,
    WorkflowMembership,
)
from unstract.serve import prepare
from unstract.services import accounts
from unstract.services.bootstrap import bootstrap, sample_files
from unstract.tools.registry import TOOLS

ALL_MODELS = [Organization, User, OrgMembership, ApiKey, Connector, Workflow, WorkflowMembership,
              WorkflowEndpoint, ToolInstance, Adapter]


@pytest.fixture
def settings(app):
    """The test settings with the bootstrap enabled and no admin password configured."""
    return dataclasses.replace(app.config["UNSTRACT_SETTINGS"], bootstrap=True, admin_password=None)


def counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in ALL_MODELS}


def only(model, *where):
    rows = list(db.session.scalars(select(model).where(*where)))
    assert len(rows) == 1, rows
    return rows[0]


def demo_workflow(name: str = "Demo workflow") -> Workflow:
    return only(Workflow, Workflow.workflow_name == name)


def test_bootstrap_creates_the_default_org_and_its_admin(settings):
    result = bootstrap(settings)

    org = only(Organization)
    assert (org.org_id, org.name) == ("default", "Default")
    admin = only(User)
    assert admin.email == "admin@example.com" and result.admin_email == "admin@example.com"
    membership = only(OrgMembership)
    assert (membership.organization_id, membership.user_id, membership.role) == (org.id, admin.id, "admin")
    assert re.fullmatch(r"[A-Za-z0-9]{20}", result.generated_password)
    assert result.generated_password not in admin.password_hash
    assert accounts.verify_password("admin@example.com", result.generated_password) == admin


def test_bootstrap_creates_the_demo_connector_and_copies_the_samples(settings, storage_root):
    bootstrap(settings)

    connector = only(Connector)
    assert (connector.connector_name, connector.connector_id, connector.connector_mode) == (
        "Demo storage", "local_storage", "FILE_SYSTEM")
    assert connector.connector_metadata == {"path": str(storage_root / "demo")}
    assert connector.created_by == only(User).id
    copied = sorted(p.name for p in (storage_root / "demo" / "samples").iterdir())
    assert copied == [sample.name for sample in sample_files()]
    assert {name.rsplit(".", 1)[1] for name in copied} >= {"pdf", "txt", "md"}


def test_bootstrap_creates_the_demo_workflow_owned_by_the_admin_and_shared_to_the_org(settings):
    result = bootstrap(settings)

    workflow, admin, org = demo_workflow(), only(User), only(Organization)
    assert workflow.id == result.workflow_id
    assert (workflow.workflow_name, workflow.organization_id) == ("Demo workflow", org.id)
    assert workflow.shared_to_org is True and workflow.is_active is True
    assert (workflow.workflow_owner, workflow.created_by, workflow.modified_by) == (admin.id,) * 3
    member = only(WorkflowMembership, WorkflowMembership.workflow_id == workflow.id)
    assert (member.workflow_id, member.user_id, member.role) == (workflow.id, admin.id, "owner")


def test_bootstrap_configures_filesystem_endpoints_on_the_demo_connector(settings):
    bootstrap(settings)

    connector = only(Connector)
    endpoints = {e.endpoint_type: e for e in db.session.scalars(
        select(WorkflowEndpoint).where(WorkflowEndpoint.workflow_id == demo_workflow().id))}
    assert set(endpoints) == {"SOURCE", "DESTINATION"}
    source, destination = endpoints["SOURCE"], endpoints["DESTINATION"]
    assert (source.connection_type, source.connector_instance_id) == ("FILESYSTEM", connector.id)
    assert source.configuration == {
        "folders": ["samples"], "processSubDirectories": True, "fileExtensions": [], "maxFiles": 100,
        "fileReprocessingHandling": "skip_duplicates", "reprocessInterval": 30, "intervalUnit": "days",
        "fileProcessingOrder": "unordered",
    }
    assert (destination.connection_type, destination.connector_instance_id) == ("FILESYSTEM", connector.id)
    assert destination.configuration == {"outputFolder": "output"}


def test_bootstrap_adds_text_and_field_extractor_steps(settings):
    bootstrap(settings)

    steps = list(db.session.scalars(select(ToolInstance).where(ToolInstance.workflow_id == demo_workflow().id)
                                    .order_by(ToolInstance.step)))
    assert [(s.step, s.tool_id) for s in steps] == [(1, "text_extractor"), (2, "field_extractor")]
    assert steps[0].metadata_ == {"normalize_whitespace": False, "max_pages": None,
                                  "mode": "auto", "ocr_language": "eng", "dpi": 300, "ocr_min_chars": 20}
    assert steps[1].metadata_ == {"rules": [
        {"name": "invoice_number", "pattern": r"Invoice (?:Number|No\.?)[:#]?\s*([A-Z0-9-]+)", "group": 1,
         "type": "string", "required": False},
        {"name": "total", "pattern": r"Total[:\s]*\$?([0-9][0-9,]*(?:\.[0-9]+)?)", "group": 1,
         "type": "number", "required": False},
    ]}


@pytest.mark.parametrize(("name", "mime_type", "expected"), [
    ("invoice-1001.pdf", "application/pdf", {"invoice_number": "INV-1001", "total": 1250.5}),
    ("invoice-1002.txt", "text/plain", {"invoice_number": "INV-1002", "total": 980.0}),
])
def test_demo_steps_extract_the_invoice_fields_of_the_samples(settings, storage_root, name, mime_type,
                                                               expected):
    bootstrap(settings)
    source = (storage_root / "demo" / "samples" / name).read_bytes()
    output = None
    steps = select(ToolInstance).where(ToolInstance.workflow_id == demo_workflow().id).order_by(ToolInstance.step)
    for step in db.session.scalars(steps):
        output = TOOLS[step.tool_id].run(source, mime_type, output, step.metadata_).output
    assert output == expected


def test_second_bootstrap_changes_nothing(settings, storage_root):
    bootstrap(settings)
    before = counts()
    workflow = demo_workflow()
    modified = (workflow.modified_at, only(User).password_hash)
    sample = storage_root / "demo" / "samples" / "invoice-1002.txt"
    sample.write_text("edited by the user")

    assert bootstrap(settings) is None
    db.session.expire_all()
    assert counts() == before
    assert (demo_workflow().modified_at, only(User).password_hash) == modified
    assert sample.read_text() == "edited by the user"


def test_bootstrap_is_skipped_when_an_organization_exists(settings, storage_root):
    accounts.create_org("acme")
    assert bootstrap(settings) is None
    assert counts()["Workflow"] == 0 and counts()["Organization"] == 1
    assert not (storage_root / "demo").exists()


def test_bootstrap_is_disabled_by_unstract_bootstrap_0(make_app, storage_root):
    app = make_app(UNSTRACT_BOOTSTRAP="0")
    _dispose(app)
    assert app.config["UNSTRACT_SETTINGS"].bootstrap is False
    assert bootstrap(app.config["UNSTRACT_SETTINGS"]) is None
    assert sum(counts().values()) == 0
    assert not (storage_root / "demo").exists()


def test_configured_admin_email_and_password_are_used_and_not_printed(make_app, capsys):
    app = make_app(UNSTRACT_BOOTSTRAP="1", UNSTRACT_ADMIN_EMAIL="Boss@Example.org",
                   UNSTRACT_ADMIN_PASSWORD="a-long-secret")
    try:
        prepare(app)
    finally:
        _dispose(app)
    assert capsys.readouterr().out == ""
    assert only(User).email == "boss@example.org"
    assert accounts.verify_password("boss@example.org", "a-long-secret") is not None


def test_startup_prints_the_generated_password_once(make_app, capsys):
    app = make_app(UNSTRACT_BOOTSTRAP="1")
    try:
        prepare(app)
        first = capsys.readouterr().out
        prepare(app)
        second = capsys.readouterr().out
    finally:
        _dispose(app)
    match = re.fullmatch(r"Admin password for admin@example\.com: ([A-Za-z0-9]{20})\n", first)
    assert match, first
    assert second == ""
    assert accounts.verify_password("admin@example.com", match.group(1)) is not None


def test_too_short_admin_password_fails_and_leaves_the_database_empty(settings):
    with pytest.raises(errors.ValidationFailed):
        bootstrap(dataclasses.replace(settings, admin_password="short"))
    assert sum(counts().values()) == 0


def test_an_existing_user_becomes_admin_without_a_generated_password(settings):
    user = User(email="admin@example.com", password_hash="kept")
    db.session.add(user)
    db.session.commit()

    result = bootstrap(settings)
    assert result.generated_password is None
    assert only(User).password_hash == "kept"
    assert only(OrgMembership).role == "admin"


def _dispose(app) -> None:
    with app.app_context():
        db.engine.dispose()
