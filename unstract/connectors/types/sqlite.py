"""SQLite destinations: a database file whose directory lies inside an allowed root."""

from __future__ import annotations

import os

from sqlalchemy.engine import URL

from unstract.connectors.errors import ConnectorError
from unstract.connectors.paths import check_sqlite_path
from unstract.connectors.types.base import DRAFT7, DatabaseType, PathRule


class SQLite(DatabaseType):
    """A file database; tables are never schema-qualified."""

    connector_id = "sqlite"
    dialect = "sqlite"
    # fmt: off
    metadata_schema = {
        "$schema": DRAFT7, "title": "SQLite", "type": "object",
        "additionalProperties": False, "required": ["path"],
        "properties": {
            "path": {"title": "Database file",
                     "description": "Absolute; its directory must be inside an allowed root.",
                     "type": "string", "minLength": 2, "maxLength": 1000, "pattern": "^/"}}}
    # fmt: on
    path_rule = PathRule(
        check_sqlite_path, "Path must be inside an allowed root and its directory must exist.",
        hint="A database file inside {where}: a name (for example results.db, meaning {example}) or an absolute "
             "path; its folder must exist.",
        advice="“{typed}” is not inside {where}, or its folder does not exist. Type a file name (for example "
               "results.db) or an absolute path inside the root, in a folder that exists.", example="results.db")

    def url(self, metadata: dict, allowed_roots: list[str] | None) -> URL:
        """The file's URL with its directory resolved; pass allowed_roots to re-check the path rule."""
        path = metadata.get("path", "")
        if not isinstance(path, str) or not os.path.isabs(path):
            raise ConnectorError("the SQLite path must be absolute.")
        if allowed_roots is not None and not check_sqlite_path(path, allowed_roots):
            raise ConnectorError(
                f"SQLite path '{path}' is not inside an allowed root with an existing directory."
            )
        parent, name = os.path.split(path)
        return URL.create("sqlite", database=os.path.join(os.path.realpath(parent), name))

    def engine_options(self) -> dict:
        """Wait for a writer's lock rather than failing at once."""
        return {"connect_args": {"timeout": 30}}


CONNECTOR = SQLite()
