"""The connector registry: every type declares a valid schema, its secrets and its I/O; lookups fail clearly."""

import pytest
from jsonschema import Draft7Validator

from unstract.connectors import registry
from unstract.connectors.errors import ConnectorError
from unstract.connectors.types.base import DATABASE, FILE_SYSTEM
from unstract.jsonschemas import CONNECTOR_METADATA, secret_fields
from unstract.models import CONNECTOR_MODES
from unstract.services import connectors

ALL = registry.all_types()


def test_registry_holds_the_four_connector_types_by_their_id():
    assert [t.connector_id for t in ALL] == ["local_storage", "postgresql", "s3", "sqlite"]
    assert all(registry.TYPES[t.connector_id] is t for t in ALL)


@pytest.mark.parametrize("connector_type", ALL, ids=lambda t: t.connector_id)
def test_every_type_declares_a_valid_object_schema_and_a_name(connector_type):
    schema = connector_type.metadata_schema
    Draft7Validator.check_schema(schema)
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["properties"] and set(schema.get("required", [])) <= set(schema["properties"])
    assert connector_type.name == schema["title"]


@pytest.mark.parametrize("connector_type", ALL, ids=lambda t: t.connector_id)
def test_secret_fields_are_write_only_properties_of_the_schema(connector_type):
    properties = connector_type.metadata_schema["properties"]
    assert set(connector_type.secret_fields) <= set(properties)
    assert all(properties[name]["writeOnly"] is True for name in connector_type.secret_fields)
    assert secret_fields(connector_type.connector_id) == connector_type.secret_fields


@pytest.mark.parametrize("connector_type", ALL, ids=lambda t: t.connector_id)
def test_every_type_is_a_file_store_or_a_database_with_its_io(connector_type):
    if connector_type.mode == FILE_SYSTEM:
        assert isinstance(connector_type, registry.FileStoreType)
        assert type(connector_type).open is not registry.FileStoreType.open
    else:
        assert connector_type.mode == DATABASE and isinstance(connector_type, registry.DatabaseType)
        assert type(connector_type).url is not registry.DatabaseType.url and connector_type.dialect


@pytest.mark.parametrize("connector_type", ALL, ids=lambda t: t.connector_id)
def test_a_path_property_always_comes_with_a_path_rule(connector_type):
    has_path = "path" in connector_type.metadata_schema["properties"]
    assert (connector_type.path_rule is not None) == has_path


def test_the_rest_of_the_app_reads_the_types_from_the_registry():
    assert CONNECTOR_MODES == {t.connector_id: t.mode for t in ALL}
    assert all(CONNECTOR_METADATA[t.connector_id] is t.metadata_schema for t in ALL)
    assert connectors.CONNECTOR_IDS == tuple(t.connector_id for t in ALL)
    assert connectors.TYPE_NAMES == {t.connector_id: t.name for t in ALL}


def test_an_unknown_type_fails_clearly():
    assert registry.find("ftp") is None
    with pytest.raises(registry.UnknownConnectorType, match="connector type 'ftp' is not registered"):
        registry.get("ftp")
    assert issubclass(registry.UnknownConnectorType, ConnectorError)
    assert secret_fields("ftp") == []


def test_a_type_of_the_other_mode_is_refused_by_name():
    with pytest.raises(ConnectorError, match="connector type 'sqlite' is not a file store"):
        registry.file_store_type("sqlite")
    with pytest.raises(ConnectorError, match="connector type 's3' is not a database"):
        registry.database_type("s3")
    with pytest.raises(ConnectorError, match="connector type 'ftp' is not a database"):
        registry.database_type("ftp")


def test_path_error_applies_the_types_rule(tmp_path):
    roots = [str(tmp_path)]
    local, sqlite, s3 = registry.get("local_storage"), registry.get("sqlite"), registry.get("s3")
    assert local.path_error({"path": str(tmp_path)}, roots) is None
    assert local.path_error({"path": str(tmp_path / "missing")}, roots) == local.path_rule.message
    assert sqlite.path_error({"path": str(tmp_path / "out.db")}, roots) is None
    assert sqlite.path_error({"path": "/elsewhere/out.db"}, roots) == sqlite.path_rule.message
    assert local.path_error({}, roots) is None and s3.path_error({"path": "/x"}, roots) is None
