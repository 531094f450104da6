"""Every connector type by its connector_id; callers look a type up here instead of branching on ids.

Adding a connector type is one module under connectors/types/ and one line in TYPES.
"""

from __future__ import annotations

from unstract.connectors.errors import ConnectorError
from unstract.connectors.filestore import FileStore
from unstract.connectors.types import local_storage, postgresql, s3, sqlite
from unstract.connectors.types.base import ConnectorType, DatabaseType, FileStoreType

__all__ = [
    "ConnectorType",
    "DatabaseType",
    "FileStoreType",
    "UnknownConnectorType",
    "all_types",
    "connector_modes",
    "database_type",
    "file_store_type",
    "find",
    "get",
    "open_file_store",
]

TYPES: dict[str, ConnectorType] = {
    connector.connector_id: connector
    for connector in (
        local_storage.CONNECTOR,
        s3.CONNECTOR,
        sqlite.CONNECTOR,
        postgresql.CONNECTOR,
    )
}


class UnknownConnectorType(ConnectorError):
    """A connector_id no registered type answers to."""


def find(connector_id: str) -> ConnectorType | None:
    """The registered type, or None for an unknown id."""
    return TYPES.get(connector_id)


def get(connector_id: str) -> ConnectorType:
    """The registered type; an unknown id raises UnknownConnectorType naming it."""
    connector = TYPES.get(connector_id)
    if connector is None:
        raise UnknownConnectorType(f"connector type '{connector_id}' is not registered.")
    return connector


def all_types() -> list[ConnectorType]:
    """Every registered type, ordered by connector_id."""
    return [TYPES[connector_id] for connector_id in sorted(TYPES)]


def connector_modes() -> dict[str, str]:
    """connector_id -> connector_mode (FILE_SYSTEM or DATABASE) of every registered type."""
    return {connector.connector_id: connector.mode for connector in all_types()}


def file_store_type(connector_id: str) -> FileStoreType:
    """The type of a FILESYSTEM connector; any other id raises ConnectorError."""
    connector = find(connector_id)
    if not isinstance(connector, FileStoreType):
        raise ConnectorError(f"connector type '{connector_id}' is not a file store.")
    return connector


def database_type(connector_id: str) -> DatabaseType:
    """The type of a DATABASE connector; any other id raises ConnectorError."""
    connector = find(connector_id)
    if not isinstance(connector, DatabaseType):
        raise ConnectorError(f"connector type '{connector_id}' is not a database.")
    return connector


def open_file_store(connector_id: str, metadata: dict, allowed_roots: list[str]) -> FileStore:
    """Open the store of a FILESYSTEM connector from its opened (plaintext) metadata."""
    return file_store_type(connector_id).open(metadata, allowed_roots)
