"""Connectors and connector types (docs/API.md, Connectors): validation, path rules, secrets, permissions."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session

from tests.api.calls import errors_of, local, post_local
from tests.factories import acme_workflow, configure, make_connector, organization
from tests.support import ApiClient
from unstract.extensions import db
from unstract.jsonschemas import CONNECTOR_METADATA
from unstract.models import Connector
from unstract.services.secrets import open_metadata

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def post_postgres(api, name: str = "Warehouse", **metadata):
    body = {"connector_name": name, "connector_id": "postgresql",
            "connector_metadata": {"host": "db.local", "database": "dw", "user": "etl", **metadata}}
    return api.post("connector/", json=body)


def raw_metadata(connector_id: str) -> str:
    """The connector_metadata column exactly as the database holds it."""
    value = db.session.execute(text("SELECT connector_metadata FROM connector WHERE id = :id"),
                               {"id": _db_id(connector_id)}).scalar_one()
    return value if isinstance(value, str) else json.dumps(value)


def stored_password(app, connector_id: str) -> str:
    """The PostgreSQL password as the engine would read it."""
    row = db.session.get(Connector, uuid.UUID(connector_id))
    return open_metadata("postgresql", row.connector_metadata, app.config["SECRET_KEY"])["password"]


def _db_id(connector_id: str):
    """Bind value for a UUID column in raw SQL (SQLite stores 32 hex characters, PostgreSQL a uuid)."""
    parsed = uuid.UUID(connector_id)
    return parsed.hex if db.engine.dialect.name == "sqlite" else parsed


# --- Create and representation -------------------------------------------------------------------

def test_create_local_storage_connector_returns_representation(world, storage_root):
    response = post_local(world.api("owner"), storage_root, name="  Inbox ")
    assert response.status_code == 201
    body = response.json
    assert list(body) == ["id", "connector_name", "connector_id", "connector_metadata", "connector_mode",
                          "created_by", "created_at", "modified_at"]
    assert body["connector_name"] == "Inbox" and body["connector_id"] == "local_storage"
    assert body["connector_metadata"] == {"path": str(storage_root / "inbox")}
    assert body["connector_mode"] == "FILE_SYSTEM"
    assert body["created_by"] == str(world.users["owner"].id)
    assert TIMESTAMP.match(body["created_at"]) and TIMESTAMP.match(body["modified_at"])
    assert uuid.UUID(body["id"]).hex == body["id"].replace("-", "")


def test_create_fills_schema_defaults_and_derives_database_mode(world):
    body = post_postgres(world.api("owner")).json
    assert body["connector_mode"] == "DATABASE"
    assert body["connector_metadata"] == {"host": "db.local", "database": "dw", "user": "etl", "port": 5432,
                                          "password": "", "schema": "public"}


def test_s3_defaults_are_filled_and_empty_secret_is_returned_empty(world):
    response = world.api("owner").post("connector/", json={
        "connector_name": "Bucket", "connector_id": "s3", "connector_metadata": {"bucket": "my-bucket"}})
    assert response.status_code == 201
    assert response.json["connector_mode"] == "FILE_SYSTEM"
    assert response.json["connector_metadata"] == {"bucket": "my-bucket", "endpoint_url": "", "key": "",
                                                   "secret": "", "region": "us-east-1", "prefix": ""}


# --- Secrets -------------------------------------------------------------------------------------

def test_secret_is_masked_in_every_response_and_stored_encrypted(world, app):
    api = world.api("owner")
    created = post_postgres(api, password="hunter2-secret")
    assert created.status_code == 201
    assert created.json["connector_metadata"]["password"] == "********"
    connector_id = created.json["id"]
    assert api.get(f"connector/{connector_id}/").json["connector_metadata"]["password"] == "********"
    listed = api.get("connector/").json["results"][0]
    assert listed["connector_metadata"]["password"] == "********"
    stored = raw_metadata(connector_id)
    assert "hunter2" not in stored and "$enc" in stored
    row = db.session.get(Connector, uuid.UUID(connector_id))
    opened = open_metadata("postgresql", row.connector_metadata, app.config["SECRET_KEY"])
    assert opened["password"] == "hunter2-secret" and opened["host"] == "db.local"


def test_patch_keeps_secret_when_absent_or_masked(world, app):
    api = world.api("owner")
    connector_id = post_postgres(api, password="s3cret").json["id"]
    for metadata in ({"host": "other.local", "database": "dw", "user": "etl"},
                     {"host": "third.local", "database": "dw", "user": "etl", "password": "********"}):
        response = api.patch(f"connector/{connector_id}/", json={"connector_metadata": metadata})
        assert response.status_code == 200
        assert response.json["connector_metadata"]["password"] == "********"
        assert response.json["connector_metadata"]["host"] == metadata["host"]
        db.session.expire_all()
        assert stored_password(app, connector_id) == "s3cret"
    assert "s3cret" not in raw_metadata(connector_id)


def test_patch_with_new_or_empty_secret_replaces_it(world, app):
    api = world.api("owner")
    connector_id = post_postgres(api, password="old-one").json["id"]
    base = {"host": "db.local", "database": "dw", "user": "etl"}
    api.patch(f"connector/{connector_id}/", json={"connector_metadata": {**base, "password": "new-one"}})
    db.session.expire_all()
    assert stored_password(app, connector_id) == "new-one"
    assert "new-one" not in raw_metadata(connector_id)
    cleared = api.patch(f"connector/{connector_id}/", json={"connector_metadata": {**base, "password": ""}})
    assert cleared.json["connector_metadata"]["password"] == ""


def test_patch_metadata_replaces_the_whole_object(world):
    api = world.api("owner")
    connector_id = post_postgres(api, port=6543, schema="sales").json["id"]
    response = api.patch(f"connector/{connector_id}/", json={
        "connector_metadata": {"host": "db.local", "database": "dw", "user": "etl"}})
    assert response.json["connector_metadata"]["port"] == 5432
    assert response.json["connector_metadata"]["schema"] == "public"


# --- Body validation -----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    (None, {"code": "null", "detail": "This field may not be null."}),
    ("   ", {"code": "blank", "detail": "This field may not be blank."}),
    ("x" * 129, {"code": "max_length", "detail": "Ensure this field has no more than 128 characters."}),
    (12, {"code": "invalid", "detail": "Not a valid string."}),
])
def test_bad_connector_name_is_rejected(world, storage_root, name, expected):
    response = world.api("owner").post("connector/", json={
        "connector_name": name, "connector_id": "local_storage",
        "connector_metadata": {"path": local(storage_root)}})
    assert errors_of(response) == [{**expected, "attr": "connector_name"}]


def test_missing_fields_are_required_in_table_order(world):
    response = world.api("owner").post("connector/", json={})
    assert errors_of(response) == [
        {"code": "required", "detail": "This field is required.", "attr": "connector_name"},
        {"code": "required", "detail": "This field is required.", "attr": "connector_id"},
        {"code": "required", "detail": "This field is required.", "attr": "connector_metadata"},
    ]


def test_unknown_connector_type_is_invalid_choice(world):
    response = world.api("owner").post("connector/", json={
        "connector_name": "X", "connector_id": "ftp", "connector_metadata": {}})
    assert errors_of(response) == [{"code": "invalid_choice", "detail": '"ftp" is not a valid choice.',
                                    "attr": "connector_id"}]


def test_metadata_that_is_not_an_object_is_invalid(world):
    response = world.api("owner").post("connector/", json={
        "connector_name": "X", "connector_id": "s3", "connector_metadata": ["bucket"]})
    assert errors_of(response) == [{"code": "invalid", "detail": "Must be a JSON object.",
                                    "attr": "connector_metadata"}]


def test_metadata_schema_errors_have_dotted_attrs_sorted_by_attr(world):
    response = world.api("owner").post("connector/", json={
        "connector_name": "X", "connector_id": "postgresql",
        "connector_metadata": {"host": "", "database": "dw", "port": 70000, "colour": "red"}})
    assert [(e["attr"], e["code"]) for e in errors_of(response)] == [
        ("connector_metadata.colour", "unknown_field"),
        ("connector_metadata.host", "min_length"),
        ("connector_metadata.port", "max_value"),
        ("connector_metadata.user", "required"),
    ]


def test_duplicate_name_is_unique_error_listed_before_metadata_errors(world, storage_root):
    api = world.api("owner")
    assert post_local(api, storage_root).status_code == 201
    response = api.post("connector/", json={"connector_name": "Inbox", "connector_id": "s3",
                                            "connector_metadata": {}})
    assert errors_of(response) == [
        {"code": "unique", "detail": "A connector with this name already exists.", "attr": "connector_name"},
        {"code": "required", "detail": "'bucket' is a required property",
         "attr": "connector_metadata.bucket"},
    ]


def test_same_name_in_another_org_is_allowed(world, storage_root):
    make_connector("other", "Inbox", created_by=world.users["outsider"])
    assert post_local(world.api("owner"), storage_root).status_code == 201


def test_duplicate_inserted_concurrently_is_the_same_unique_error(world, storage_root):
    """Another writer commits the same name between the check and the insert; the index decides."""
    acme = organization("acme").id
    owner_id = world.users["owner"].id

    def sneak_in(session, _context, _instances):
        if any(isinstance(obj, Connector) for obj in session.new):
            with db.engine.begin() as conn:
                conn.execute(insert(Connector.__table__).values(
                    id=uuid.uuid4(), organization_id=acme, connector_name="Inbox",
                    connector_id="local_storage", connector_metadata={"path": "/x"},
                    connector_mode="FILE_SYSTEM", created_by=owner_id,
                    created_at=db.func.now(), modified_at=db.func.now()))

    event.listen(Session, "before_flush", sneak_in)
    try:
        response = post_local(world.api("owner"), storage_root)
    finally:
        event.remove(Session, "before_flush", sneak_in)
    assert errors_of(response) == [{"code": "unique", "detail": "A connector with this name already exists.",
                                    "attr": "connector_name"}]
    assert db.session.scalar(select(db.func.count()).select_from(Connector)) == 1


# --- List, read, update, delete ----------------------------------------------------------------

def test_list_is_ordered_by_name_and_filters_by_type_and_mode(world, storage_root):
    api = world.api("member")
    post_local(api, storage_root, "b-files", "b")
    post_postgres(api, "a-warehouse")
    api.post("connector/", json={"connector_name": "c-bucket", "connector_id": "s3",
                                 "connector_metadata": {"bucket": "bkt"}})
    make_connector("other", "elsewhere", created_by=world.users["outsider"])
    names = [row["connector_name"] for row in api.get("connector/").json["results"]]
    assert names == ["a-warehouse", "b-files", "c-bucket"]
    files = api.get("connector/?connector_mode=FILE_SYSTEM").json["results"]
    assert [row["connector_name"] for row in files] == ["b-files", "c-bucket"]
    only_s3 = api.get("connector/?connector_id=s3&connector_mode=FILE_SYSTEM").json
    assert only_s3["count"] == 1 and only_s3["results"][0]["connector_name"] == "c-bucket"
    newest = api.get("connector/?ordering=-created_at").json["results"]
    assert [row["connector_name"] for row in newest] == ["c-bucket", "a-warehouse", "b-files"]


@pytest.mark.parametrize(("query", "attr", "value"), [
    ("connector_id=ftp", "connector_id", "ftp"),
    ("connector_mode=file_system", "connector_mode", "file_system"),
])
def test_list_filter_with_unknown_value_is_invalid_choice(world, query, attr, value):
    response = world.api("member").get(f"connector/?{query}")
    assert errors_of(response) == [{"code": "invalid_choice", "detail": f'"{value}" is not a valid choice.',
                                    "attr": attr}]


def test_list_rejects_unknown_ordering_field(world):
    response = world.api("member").get("connector/?ordering=connector_metadata")
    assert errors_of(response) == [{"code": "invalid", "attr": "ordering",
                                    "detail": "Unknown ordering field: connector_metadata."}]


def test_connector_of_another_org_or_malformed_id_is_not_found(world):
    foreign = make_connector("other", "Theirs", created_by=world.users["outsider"])
    api = world.api("owner")
    for path in (f"connector/{foreign.id}/", "connector/not-a-uuid/", f"connector/{uuid.uuid4()}/"):
        response = api.get(path)
        assert response.status_code == 404 and response.json["errors"][0]["code"] == "not_found"
    assert api.delete(f"connector/{foreign.id}/").status_code == 404


def test_patch_renames_and_keeping_own_name_is_not_a_duplicate(world, storage_root):
    api = world.api("owner")
    connector_id = post_local(api, storage_root).json["id"]
    post_local(api, storage_root, "Taken", "taken")
    assert api.patch(f"connector/{connector_id}/", json={"connector_name": "Inbox"}).status_code == 200
    renamed = api.patch(f"connector/{connector_id}/", json={"connector_name": " Renamed "})
    assert renamed.status_code == 200 and renamed.json["connector_name"] == "Renamed"
    taken = api.patch(f"connector/{connector_id}/", json={"connector_name": "Taken"})
    assert errors_of(taken) == [{"code": "unique", "detail": "A connector with this name already exists.",
                                 "attr": "connector_name"}]


def test_patch_cannot_change_the_connector_type(world, storage_root):
    api = world.api("owner")
    connector_id = post_local(api, storage_root).json["id"]
    assert api.patch(f"connector/{connector_id}/", json={"connector_id": "local_storage"}).status_code == 200
    response = api.patch(f"connector/{connector_id}/", json={"connector_id": "s3"})
    assert errors_of(response) == [{"code": "invalid", "detail": "Connector type cannot be changed.",
                                    "attr": "connector_id"}]


def test_patch_metadata_is_validated_against_the_stored_type(world, storage_root):
    api = world.api("owner")
    connector_id = post_local(api, storage_root).json["id"]
    response = api.patch(f"connector/{connector_id}/", json={"connector_metadata": {"bucket": "bkt"}})
    assert [(e["attr"], e["code"]) for e in errors_of(response)] == [
        ("connector_metadata.bucket", "unknown_field"), ("connector_metadata.path", "required")]


def test_put_is_not_allowed(world, storage_root):
    api = world.api("owner")
    connector_id = post_local(api, storage_root).json["id"]
    response = api.put(f"connector/{connector_id}/", json={})
    assert response.status_code == 405
    assert response.json["errors"][0] == {"code": "method_not_allowed", "detail": 'Method "PUT" not allowed.',
                                          "attr": None}
    assert "PATCH" in response.headers["Allow"] and "PUT" not in response.headers["Allow"]


def test_delete_removes_an_unused_connector(world, storage_root):
    api = world.api("owner")
    connector_id = post_local(api, storage_root).json["id"]
    response = api.delete(f"connector/{connector_id}/")
    assert response.status_code == 204 and response.data == b""
    assert api.get(f"connector/{connector_id}/").status_code == 404


def test_delete_of_a_connector_in_use_is_a_conflict(world):
    connector = make_connector("acme", created_by=world.users["owner"])
    for name in ("One", "Two"):
        configure(acme_workflow(world, name), "SOURCE", "FILESYSTEM", connector)
    response = world.api("owner").delete(f"connector/{connector.id}/")
    assert response.status_code == 409
    assert response.json == {"type": "client_error", "errors": [
        {"code": "connector_in_use", "detail": "Connector is used by 2 workflow endpoint(s).", "attr": None}]}
    assert db.session.get(Connector, connector.id) is not None


# --- Connector types -----------------------------------------------------------------------------

def test_connector_types_are_listed_by_id_with_names_and_schemas(world):
    body = world.api("member", "read").get("connector/types/").json
    assert body["count"] == 4 and body["next"] is None
    assert [(t["connector_id"], t["name"], t["connector_mode"]) for t in body["results"]] == [
        ("local_storage", "Local storage", "FILE_SYSTEM"), ("postgresql", "PostgreSQL", "DATABASE"),
        ("s3", "S3 / S3-compatible", "FILE_SYSTEM"), ("sqlite", "SQLite", "DATABASE")]
    assert all(t["metadata_schema"] == CONNECTOR_METADATA[t["connector_id"]] for t in body["results"])


def test_connector_types_are_paginated(world):
    api = world.api("member")
    body = api.get("connector/types/?page_size=3&page=2").json
    assert [t["connector_id"] for t in body["results"]] == ["sqlite"]
    assert body["previous"].endswith("/connector/types/?page_size=3&page=1")
    assert api.get("connector/types/?page=3&page_size=3").json["errors"][0]["code"] == "invalid_page"


# --- Authorization matrix ------------------------------------------------------------------------

def _client(world, app, who: str) -> ApiClient:
    if who == "anonymous":
        return ApiClient(app.test_client(), "acme", None)
    if who == "read_key":
        return world.api("owner", "read")
    if who == "other_org":
        return world.api("outsider", org_id="acme")
    return world.api(who)


# creator = owner; "viewer" and "member" are members who did not create the connector.
MATRIX = [
    # who,        list, get,  post, patch, delete
    ("owner",     200,  200,  201,  200,   204),
    ("viewer",    200,  200,  201,  403,   403),
    ("member",    200,  200,  201,  403,   403),
    ("admin",     200,  200,  201,  200,   204),
    ("other_org", 404,  404,  404,  404,   404),
    ("anonymous", 401,  401,  401,  401,   401),
    ("read_key",  200,  200,  403,  403,   403),
]


@pytest.mark.parametrize(("who", "list_", "get", "post", "patch", "delete"), MATRIX)
def test_authorization_matrix(world, app, storage_root, who, list_, get, post, patch, delete):
    connector = make_connector("acme", "Shared", metadata={"path": local(storage_root, "shared")},
                               created_by=world.users["owner"])
    api = _client(world, app, who)
    assert api.get("connector/").status_code == list_
    assert api.get("connector/types/").status_code == list_
    assert api.get(f"connector/{connector.id}/").status_code == get
    assert post_local(api, storage_root, f"New-{who}", "new").status_code == post
    assert api.patch(f"connector/{connector.id}/", json={"connector_name": "Renamed"}).status_code == patch
    assert api.delete(f"connector/{connector.id}/").status_code == delete


def test_permission_is_checked_before_the_body(world):
    connector = make_connector("acme", created_by=world.users["owner"])
    response = world.api("member").patch(f"connector/{connector.id}/", json={"connector_name": ""})
    assert response.status_code == 403
    assert response.json["errors"][0]["code"] == "permission_denied"
