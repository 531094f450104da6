"""Local storage: a directory on this machine, inside one of the allowed roots."""

from __future__ import annotations

from unstract.connectors.errors import ConnectorError
from unstract.connectors.filestore import FileStore, LocalFileStore
from unstract.connectors.paths import check_local_storage_path
from unstract.connectors.types.base import DRAFT7, FileStoreType, PathRule


class LocalStorage(FileStoreType):
    """Files under an absolute root directory."""

    connector_id = "local_storage"
    # fmt: off
    metadata_schema = {
        "$schema": DRAFT7, "title": "Local storage", "type": "object",
        "additionalProperties": False, "required": ["path"],
        "properties": {
            "path": {"title": "Root directory",
                     "description": "Absolute; must resolve inside an allowed root.",
                     "type": "string", "minLength": 2, "maxLength": 1000, "pattern": "^/"}}}
    # fmt: on
    path_rule = PathRule(
        check_local_storage_path, "Path must be an existing directory inside an allowed root.",
        hint="A folder inside {where}: its name (for example inbox, meaning {example}) or its absolute path.",
        advice="“{typed}” is not an existing folder inside {where}. Type the name of a folder there (for example "
               "inbox) or its absolute path; create the folder first if it is new.", example="inbox")

    def open(self, metadata: dict, allowed_roots: list[str]) -> FileStore:
        """The directory's store, after checking again that it lies inside an allowed root."""
        path = metadata.get("path", "")
        if not check_local_storage_path(path, allowed_roots):
            raise ConnectorError(
                f"local storage path '{path}' is not an existing directory inside an allowed root."
            )
        return LocalFileStore(path)


CONNECTOR = LocalStorage()
