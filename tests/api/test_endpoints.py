"""Workflow endpoints: listing, the PATCH rules in their order, configuration schemas, permissions."""

from __future__ import annotations

import uuid

import pytest

from tests.api.calls import errors_of
from tests.factories import acme_workflow, endpoint_id, make_connector
from tests.support import ApiClient
from unstract.extensions import db
from unstract.models import WorkflowEndpoint

SOURCE_FILE_DEFAULTS = {"folders": [], "processSubDirectories": True, "fileExtensions": [], "maxFiles": 100,
                        "fileReprocessingHandling": "skip_duplicates", "reprocessInterval": 30,
                        "intervalUnit": "days", "fileProcessingOrder": "unordered"}
DB_DEFAULTS = {"table": "invoices", "includeAgent": False, "agentName": "Unstract/DBWriter",
               "includeTimestamp": False, "filePath": "file_path", "executionId": "execution_id",
               "columnMode": "Write JSON to a single column", "singleColumnName": "data"}


@pytest.fixture
def setup(world):
    """A private workflow of `owner` shared with `viewer`, and one connector of each mode."""
    workflow = acme_workflow(world)
    files = make_connector("acme", "Files", "local_storage", created_by=world.users["owner"])
    lite = make_connector("acme", "Lite", "sqlite", {"path": "/x/out.db"}, created_by=world.users["owner"])
    warehouse = make_connector("acme", "Warehouse", "postgresql", {"host": "h", "database": "d", "user": "u"},
                               created_by=world.users["owner"])
    return {"workflow": workflow.id, "source": endpoint_id(workflow.id, "SOURCE"),
            "destination": endpoint_id(workflow.id, "DESTINATION"), "files": files.id, "lite": lite.id,
            "warehouse": warehouse.id}


def filesystem(setup) -> dict:
    return {"connection_type": "FILESYSTEM", "connector_instance_id": str(setup["files"])}


def patch(world, endpoint, body, who="owner"):
    return world.api(who).patch(f"workflow/endpoint/{endpoint}/", json=body)


def invalid(detail: str, attr: str) -> list[dict]:
    return [{"code": "invalid", "detail": detail, "attr": attr}]


# --- Reading -------------------------------------------------------------------------------------

def test_list_gives_a_page_with_source_first(world, setup):
    body = world.api("viewer").get(f"workflow/{setup['workflow']}/endpoint/").json
    assert body["count"] == 2 and body["next"] is None and body["previous"] is None
    assert [e["endpoint_type"] for e in body["results"]] == ["SOURCE", "DESTINATION"]
    source = body["results"][0]
    assert list(source) == ["id", "workflow", "workflow_name", "endpoint_type", "connection_type",
                            "connector_instance", "configuration", "created_at", "modified_at"]
    assert source["id"] == str(setup["source"]) and source["workflow"] == str(setup["workflow"])
    assert source["workflow_name"] == "Invoices" and source["connection_type"] == ""
    assert source["connector_instance"] is None and source["configuration"] is None


def test_get_one_endpoint_and_put_is_not_allowed(world, setup):
    api = world.api("owner")
    response = api.get(f"workflow/endpoint/{setup['destination']}/")
    assert response.status_code == 200 and response.json["endpoint_type"] == "DESTINATION"
    put = api.put(f"workflow/endpoint/{setup['destination']}/", json={})
    assert put.status_code == 405 and put.json["errors"][0]["code"] == "method_not_allowed"
    assert "PATCH" in put.headers["Allow"]


def test_unknown_or_malformed_ids_are_not_found(world, setup):
    api = world.api("owner")
    for path in (f"workflow/endpoint/{uuid.uuid4()}/", "workflow/endpoint/nope/",
                 f"workflow/{uuid.uuid4()}/endpoint/"):
        assert api.get(path).status_code == 404
    assert api.patch(f"workflow/endpoint/{uuid.uuid4()}/", json={}).status_code == 404


# --- connection_type -----------------------------------------------------------------------------

@pytest.mark.parametrize(("endpoint", "value"), [("source", "DATABASE"), ("source", "filesystem"),
                                                 ("destination", "FTP")])
def test_connection_type_must_fit_the_endpoint_type(world, setup, endpoint, value):
    response = patch(world, setup[endpoint], {"connection_type": value})
    assert errors_of(response) == [{"code": "invalid_choice", "detail": f'"{value}" is not a valid choice.',
                                    "attr": "connection_type"}]


def test_connection_type_body_types_are_checked(world, setup):
    assert errors_of(patch(world, setup["source"], {"connection_type": 3})) == invalid(
        "Not a valid string.", "connection_type")
    assert errors_of(patch(world, setup["source"], {"connection_type": None})) == [
        {"code": "null", "detail": "This field may not be null.", "attr": "connection_type"}]
    assert errors_of(patch(world, setup["source"], {"connector_instance_id": "abc"})) == invalid(
        "Must be a valid UUID.", "connector_instance_id")


def test_unconfigured_clears_connector_and_configuration_ignoring_sent_values(world, setup):
    patch(world, setup["source"], filesystem(setup))
    response = patch(world, setup["source"], {"connection_type": "", "configuration": {"maxFiles": 0},
                                              "connector_instance_id": str(setup["files"])})
    assert response.status_code == 200
    assert response.json["connection_type"] == ""
    assert response.json["connector_instance"] is None and response.json["configuration"] is None


# --- connector_instance_id -----------------------------------------------------------------------

def test_filesystem_source_with_connector_fills_default_configuration(world, setup):
    response = patch(world, setup["source"], filesystem(setup))
    assert response.status_code == 200
    assert response.json["connector_instance"] == {
        "id": str(setup["files"]), "connector_name": "Files", "connector_id": "local_storage",
        "connector_mode": "FILE_SYSTEM"}
    assert response.json["configuration"] == SOURCE_FILE_DEFAULTS
    db.session.expire_all()
    assert db.session.get(WorkflowEndpoint, setup["source"]).configuration == SOURCE_FILE_DEFAULTS


def test_api_endpoint_takes_no_connector(world, setup):
    body = {"connection_type": "API", "connector_instance_id": str(setup["files"])}
    response = patch(world, setup["source"], body)
    assert errors_of(response) == invalid("An API endpoint takes no connector.", "connector_instance_id")


def test_api_rule_applies_to_the_stored_connector_too(world, setup):
    patch(world, setup["source"], filesystem(setup))
    response = patch(world, setup["source"], {"connection_type": "API"})
    assert errors_of(response) == invalid("An API endpoint takes no connector.", "connector_instance_id")
    ok = patch(world, setup["source"], {"connection_type": "API", "connector_instance_id": None})
    assert ok.status_code == 200 and ok.json["connector_instance"] is None
    assert ok.json["configuration"] == {"fileExtensions": []}


def test_connector_must_belong_to_the_org(world, setup):
    foreign = make_connector("other", "Theirs", created_by=world.users["outsider"])
    for connector in (foreign.id, uuid.uuid4()):
        response = patch(world, setup["source"], {"connection_type": "FILESYSTEM",
                                                  "connector_instance_id": str(connector)})
        assert errors_of(response) == invalid("Connector not found.", "connector_instance_id")


@pytest.mark.parametrize(("endpoint", "connection_type", "connector", "mode"), [
    ("source", "FILESYSTEM", "warehouse", "DATABASE"),
    ("destination", "DATABASE", "files", "FILE_SYSTEM"),
    ("destination", "FILESYSTEM", "lite", "DATABASE"),
])
def test_connector_mode_must_fit_the_connection_type(world, setup, endpoint, connection_type, connector,
                                                      mode):
    response = patch(world, setup[endpoint], {"connection_type": connection_type,
                                              "connector_instance_id": str(setup[connector])})
    detail = f"Connector mode {mode} does not fit connection type {connection_type}."
    assert errors_of(response)[0] == invalid(detail, "connector_instance_id")[0]


def test_null_connector_is_accepted_for_filesystem_and_database(world, setup):
    body = {"connection_type": "FILESYSTEM", "connector_instance_id": None}
    response = patch(world, setup["destination"], body)
    assert response.status_code == 200 and response.json["connector_instance"] is None
    assert response.json["configuration"] == {"outputFolder": "output"}


# --- configuration -------------------------------------------------------------------------------

def test_configuration_is_replaced_by_empty_object_when_the_type_changes(world, setup):
    patch(world, setup["source"], {"connection_type": "FILESYSTEM", "configuration": {"maxFiles": 5}})
    kept = patch(world, setup["source"], {"connector_instance_id": str(setup["files"])})
    assert kept.json["configuration"]["maxFiles"] == 5
    changed = patch(world, setup["source"], {"connection_type": "API", "connector_instance_id": None})
    assert changed.json["configuration"] == {"fileExtensions": []}


def test_configuration_errors_have_configuration_attrs(world, setup):
    response = patch(world, setup["source"], {"connection_type": "FILESYSTEM",
                                              "configuration": {"maxFiles": 0, "colour": "red",
                                                                "folders": ["../up"]}})
    assert [(e["attr"], e["code"]) for e in errors_of(response)] == [
        ("configuration.colour", "unknown_field"), ("configuration.folders.0", "invalid"),
        ("configuration.maxFiles", "min_value")]


def test_configuration_that_is_not_an_object_is_invalid(world, setup):
    response = patch(world, setup["source"], {"connection_type": "FILESYSTEM", "configuration": [1]})
    assert errors_of(response) == invalid("Must be a JSON object.", "configuration")


def test_connector_and_configuration_errors_are_reported_together_in_field_order(world, setup):
    response = patch(world, setup["destination"], {"connection_type": "FILESYSTEM",
                                                   "connector_instance_id": str(uuid.uuid4()),
                                                   "configuration": {"outputFolder": ""}})
    assert [(e["attr"], e["code"]) for e in errors_of(response)] == [
        ("connector_instance_id", "invalid"), ("configuration.outputFolder", "min_length")]


def test_api_destination_configuration_is_stored_as_sent(world, setup):
    body = {"connection_type": "API", "configuration": {"anything": [1]}}
    response = patch(world, setup["destination"], body)
    assert response.json["configuration"] == {"anything": [1]}
    nulled = patch(world, setup["destination"], {"configuration": None})
    assert nulled.json["configuration"] == {}


def test_database_destination_matches_the_contract_example(world, setup):
    response = patch(world, setup["destination"], {"connection_type": "DATABASE",
                                                   "connector_instance_id": str(setup["warehouse"]),
                                                   "configuration": {"table": "invoices"}})
    assert response.status_code == 200
    assert response.json["connector_instance"]["connector_id"] == "postgresql"
    assert response.json["configuration"] == DB_DEFAULTS


def test_database_destination_without_table_fails_the_schema(world, setup):
    response = patch(world, setup["destination"], {"connection_type": "DATABASE"})
    assert [(e["attr"], e["code"]) for e in errors_of(response)] == [("configuration.table", "invalid")]


@pytest.mark.parametrize(("config", "name", "attr"), [
    ({"executionId": "file_path"}, "file_path", "executionId"),
    ({"singleColumnName": "Execution_ID"}, "Execution_ID", "singleColumnName"),
    ({"filePath": "id"}, "id", "filePath"),
    ({"singleColumnName": "file_execution_id"}, "file_execution_id", "singleColumnName"),
    ({"includeAgent": True, "filePath": "created_by"}, "created_by", "includeAgent"),
    ({"includeTimestamp": True, "singleColumnName": "created_at"}, "created_at", "includeTimestamp"),
])
def test_database_column_names_must_be_distinct(world, setup, config, name, attr):
    response = patch(world, setup["destination"], {"connection_type": "DATABASE",
                                                   "configuration": {"table": "t", **config}})
    assert errors_of(response) == invalid(f"Column name '{name}' is used twice.", f"configuration.{attr}")


def test_agent_and_timestamp_columns_are_fine_when_names_differ(world, setup):
    response = patch(world, setup["destination"], {"connection_type": "DATABASE", "configuration": {
        "table": "t", "includeAgent": True, "includeTimestamp": True, "filePath": "created"}})
    assert response.status_code == 200


def test_schema_qualified_table_needs_a_postgresql_connector(world, setup):
    body = {"connection_type": "DATABASE", "connector_instance_id": str(setup["lite"]),
            "configuration": {"table": "sales.invoices"}}
    detail = "A schema-qualified table name requires a postgresql connector."
    assert errors_of(patch(world, setup["destination"], body)) == invalid(detail, "configuration.table")
    body["connector_instance_id"] = str(setup["warehouse"])
    assert patch(world, setup["destination"], body).status_code == 200


# --- Authorization matrix ------------------------------------------------------------------------

MATRIX = [
    # who,                 shared_to_org, list, get, patch
    ("owner",              False,         200,  200, 200),
    ("viewer",             False,         200,  200, 403),
    ("org_shared_member",  True,          200,  200, 403),
    ("unrelated_member",   False,         404,  404, 404),
    ("admin",              False,         200,  200, 200),
    ("other_org",          False,         404,  404, 404),
    ("anonymous",          False,         401,  401, 401),
    ("read_key",           False,         200,  200, 403),
]


def client_for(world, app, who: str) -> ApiClient:
    if who == "anonymous":
        return ApiClient(app.test_client(), "acme", None)
    names = {"org_shared_member": "member", "unrelated_member": "member", "read_key": "owner",
             "other_org": "outsider"}
    return world.api(names.get(who, who), "read" if who == "read_key" else "full_access",
                     org_id="acme")


@pytest.mark.parametrize(("who", "shared", "list_", "get", "patch_"), MATRIX)
def test_authorization_matrix(world, app, who, shared, list_, get, patch_):
    workflow = acme_workflow(world, shared_to_org=shared)
    source = endpoint_id(workflow.id, "SOURCE")
    api = client_for(world, app, who)
    assert api.get(f"workflow/{workflow.id}/endpoint/").status_code == list_
    assert api.get(f"workflow/endpoint/{source}/").status_code == get
    assert api.patch(f"workflow/endpoint/{source}/", json={"connection_type": "API"}).status_code == patch_


def test_owner_check_comes_before_body_validation(world, setup):
    response = patch(world, setup["source"], {"connection_type": "BOGUS"}, who="viewer")
    assert response.status_code == 403
