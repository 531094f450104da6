"""Other ends of a run: S3 sources and destinations, DATABASE destinations (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import sqlite3
import uuid

import pytest
from sqlalchemy import Column, MetaData, Table, create_engine, select, text
from sqlalchemy.dialects.postgresql import JSONB

from tests.engine.harness import INVOICE_RULES, run_jobs
from tests.factories import add_tool, configure, make_connector, make_workflow
from tests.support import postgres_server_url, requires_postgres
from unstract.extensions import db
from unstract.models import Execution

INVOICE = b"Invoice Number: INV-7\nTotal: 12.50\n"


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server on loopback: no real S3 service can run here, so this stands in for one."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _s3_client(endpoint):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s",
                        region_name="us-east-1")


def _execute(world, workflow) -> Execution:
    response = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id), "timeout": 0})
    assert response.status_code == 202, response.json
    return uuid.UUID(response.json["execution_id"])


@pytest.mark.slow
def test_s3_folder_to_s3_output(app, world, acme, s3_endpoint):
    client = _s3_client(s3_endpoint)
    bucket = f"b{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="root/in/inv.txt", Body=INVOICE)
    client.put_object(Bucket=bucket, Key="root/in/empty.txt", Body=b"")
    connector = make_connector(acme.id, "S3", "s3", {"bucket": bucket, "prefix": "root", "key": "k", "secret": "s",
                                                     "endpoint_url": s3_endpoint, "region": "us-east-1"})
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "FILESYSTEM", connector, outputFolder="out")
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    execution_id = _execute(world, workflow)
    run_jobs(app)
    execution = db.session.get(Execution, execution_id)
    assert execution.status == "COMPLETED" and execution.total_files == 2
    body = client.get_object(Bucket=bucket, Key="root/out/in/inv.txt.json")["Body"].read()
    assert json.loads(body) == {"invoice_number": "INV-7", "total": 12.5}
    assert body.endswith(b"\n")


@pytest.mark.slow
def test_missing_s3_folder_fails_the_execution(app, world, acme, s3_endpoint):
    client = _s3_client(s3_endpoint)
    bucket = f"b{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    connector = make_connector(acme.id, "S3", "s3", {"bucket": bucket, "endpoint_url": s3_endpoint,
                                                     "key": "k", "secret": "s"})
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["nowhere/"])
    configure(workflow, "DESTINATION", "API")
    execution_id = _execute(world, workflow)
    run_jobs(app)
    execution = db.session.get(Execution, execution_id)
    assert execution.status == "ERROR"
    assert execution.error_message == "The provided path 'nowhere' is not a valid directory."


def _database_workflow(world, acme, storage_root, connector_id, metadata, **config):
    (storage_root / "in").mkdir(exist_ok=True)
    (storage_root / "in" / "inv.txt").write_bytes(INVOICE)
    source = make_connector(acme.id, "Local", "local_storage", {"path": str(storage_root)})
    target = make_connector(acme.id, "DB", connector_id, metadata)
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", source, folders=["in"])
    configure(workflow, "DESTINATION", "DATABASE", target, **config)
    add_tool(workflow, "field_extractor", rules=INVOICE_RULES)
    return workflow


def test_sqlite_destination_holds_one_row_per_file_execution(app, world, acme, storage_root):
    path = storage_root / "out.db"
    workflow = _database_workflow(world, acme, storage_root, "sqlite", {"path": str(path)}, table="invoices",
                                  includeTimestamp=True)
    execution_id = _execute(world, workflow)
    run_jobs(app)
    assert db.session.get(Execution, execution_id).status == "COMPLETED"
    rows = sqlite3.connect(path).execute('SELECT "file_path", "execution_id", "data", "created_at" '
                                         'FROM "invoices"').fetchall()
    assert len(rows) == 1
    assert rows[0][0] == "in/inv.txt" and rows[0][1] == str(execution_id)
    assert json.loads(rows[0][2]) == {"invoice_number": "INV-7", "total": 12.5}


def test_table_name_with_sql_is_refused_before_any_sql_runs(app, world, acme, storage_root):
    path = storage_root / "out.db"
    workflow = _database_workflow(world, acme, storage_root, "sqlite", {"path": str(path)}, table="invoices")
    endpoint = workflow.endpoint("DESTINATION")
    endpoint.configuration = {**endpoint.configuration, "table": 'x"; DROP TABLE y; --'}
    db.session.commit()
    response = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id)})
    assert response.status_code == 400
    assert response.json["errors"][0]["code"] == "endpoint_not_configured"
    assert not path.exists()


@requires_postgres
def test_postgresql_destination_schema_qualified_table(app, world, acme, storage_root):
    engine = create_engine(postgres_server_url())
    schema = f"dest_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        parsed = engine.url
        workflow = _database_workflow(world, acme, storage_root, "postgresql", {
            "host": parsed.host, "port": parsed.port or 5432, "database": parsed.database,
            "user": parsed.username, "password": parsed.password or ""}, table=f"{schema}.Invoices")
        execution_id = _execute(world, workflow)
        run_jobs(app)
        assert db.session.get(Execution, execution_id).status == "COMPLETED"
        with engine.connect() as conn:
            table = Table("Invoices", MetaData(), Column("data", JSONB), schema=schema)
            rows = conn.execute(select(table.c.data)).all()
        assert [r[0] for r in rows] == [{"invoice_number": "INV-7", "total": 12.5}]
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def test_folder_escaping_the_root_is_refused_at_execute(app, world, acme, storage_root):
    """A `..` folder stored behind the API's back still cannot leave the connector root."""
    outside = storage_root.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text("Total: 1")
    connector = make_connector(acme.id, "Local", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector)
    configure(workflow, "DESTINATION", "API")
    endpoint = workflow.endpoint("SOURCE")
    endpoint.configuration = {**endpoint.configuration, "folders": ["../outside"]}
    db.session.commit()
    response = world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id)})
    assert response.status_code == 400
    detail = response.json["errors"][0]["detail"]
    assert detail.startswith("The source configuration is invalid: configuration.folders.0:")


def test_symlink_out_of_the_root_is_not_listed(app, world, acme, storage_root):
    outside = storage_root.parent / "outside-link-target"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text("Total: 1")
    (storage_root / "in").mkdir()
    (storage_root / "in" / "ok.txt").write_text("Total: 2")
    (storage_root / "in" / "link.txt").symlink_to(outside / "secret.txt")
    (storage_root / "in" / "linkdir").symlink_to(outside, target_is_directory=True)
    connector = make_connector(acme.id, "Local", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"])
    configure(workflow, "DESTINATION", "API")
    execution_id = _execute(world, workflow)
    run_jobs(app)
    files = world.api("owner").get(f"workflow/execution/{execution_id}/files/").json["results"]
    assert [f["file_path"] for f in files] == ["in/ok.txt"]
