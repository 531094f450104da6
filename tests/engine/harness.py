"""Building runnable workflows through the models, and running real RQ workers in-process."""

from __future__ import annotations

import copy

from unstract.extensions import db
from unstract.jsonschemas import (
    DESTINATION_DATABASE,
    DESTINATION_FILESYSTEM,
    SOURCE_API,
    SOURCE_FILESYSTEM,
    fill_defaults,
)
from unstract.models import Connector, ToolInstance, Workflow
from unstract.services.secrets import seal_metadata
from unstract.tools.registry import TOOLS

SCHEMAS = {("SOURCE", "FILESYSTEM"): SOURCE_FILESYSTEM, ("SOURCE", "API"): SOURCE_API,
           ("DESTINATION", "FILESYSTEM"): DESTINATION_FILESYSTEM, ("DESTINATION", "DATABASE"): DESTINATION_DATABASE,
           ("DESTINATION", "API"): {}}

INVOICE_RULES = [
    {"name": "invoice_number", "pattern": r"Invoice (?:Number|No\.?)[:#]?\s*([A-Z0-9-]+)", "group": 1},
    {"name": "total", "pattern": r"Total[:\s]*\$?([0-9][0-9,]*(?:\.[0-9]+)?)", "group": 1, "type": "number"},
]


def make_connector(org_id, name: str, connector_id: str, metadata: dict, secret_key: str = "test-secret-key"):
    mode = "DATABASE" if connector_id in ("sqlite", "postgresql") else "FILE_SYSTEM"
    connector = Connector(organization_id=org_id, connector_name=name, connector_id=connector_id,
                          connector_metadata=seal_metadata(connector_id, metadata, secret_key), connector_mode=mode)
    db.session.add(connector)
    db.session.commit()
    return connector


def invoice_folder(storage_root, org_id, count: int, name: str = "{n}.txt") -> Connector:
    """`count` small invoices in `storage_root/in` (file names from `name`), and a local connector of
    `org_id` rooted at `storage_root`."""
    (storage_root / "in").mkdir()
    for n in range(count):
        (storage_root / "in" / name.format(n=n)).write_text(f"Invoice Number: INV-{n}\nTotal: {n}.50\n")
    return make_connector(org_id, "Local", "local_storage", {"path": str(storage_root)})


def configure(workflow: Workflow, endpoint_type: str, connection_type: str, connector=None, **config) -> None:
    endpoint = workflow.endpoint(endpoint_type)
    endpoint.connection_type = connection_type
    endpoint.connector_instance_id = connector.id if connector else None
    endpoint.configuration = fill_defaults(copy.deepcopy(config), SCHEMAS[(endpoint_type, connection_type)])
    db.session.commit()


def add_tool(workflow: Workflow, tool_id: str, **settings) -> None:
    step = len(workflow.tool_instances) + 1
    metadata = fill_defaults(settings, TOOLS[tool_id].settings_schema)
    db.session.add(ToolInstance(workflow_id=workflow.id, tool_id=tool_id, step=step, metadata_=metadata))
    db.session.commit()
    db.session.refresh(workflow)


def run_jobs(app) -> None:
    """Drain the `unstract` queue with a real RQ SimpleWorker in this process (burst mode)."""
    from unstract.worker.jobs import bind_app
    from unstract.worker.process import build_worker

    bind_app(app)
    with app.app_context():
        build_worker(app).work(burst=True, with_scheduler=False, logging_level="WARNING")
    db.session.rollback()
