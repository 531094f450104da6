"""What a connector type declares: its name, mode, metadata schema, secrets, path rule and I/O."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy.engine import URL

from unstract.connectors.errors import ConnectorError
from unstract.connectors.filestore import FileStore
from unstract.connectors.paths import within_roots

DRAFT7 = "http://json-schema.org/draft-07/schema#"
IDENTIFIER = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"
FILE_SYSTEM = "FILE_SYSTEM"
DATABASE = "DATABASE"


@dataclass(frozen=True)
class PathRule:
    """A check of the metadata's `path` against the allowed roots and the message when it fails (the API's).

    For people filling a form: `hint` says what to type and `advice` what to type instead of a refused value
    (placeholders: {where} the roots in words, {example} `example` inside the first root, {typed} the value)."""

    check: Callable[[str, list[str]], bool]
    message: str
    hint: str = ""
    advice: str = ""
    example: str = ""

    def words(self, template: str, roots: list[str], typed: str = "") -> str:
        """A hint or advice with the roots filled in."""
        where = (f"the storage root {roots[0]}" if len(roots) == 1
                 else f"one of the storage roots {', '.join(roots)}" if roots else "a storage root (none configured)")
        example = os.path.join(roots[0], self.example) if roots else self.example
        return template.format(where=where, example=example, typed=typed)


class ConnectorType:
    """One kind of connector; subclasses say how to reach it (a file store or a database)."""

    connector_id: ClassVar[str]
    mode: ClassVar[str]
    metadata_schema: ClassVar[dict[str, Any]]
    path_rule: ClassVar[PathRule | None] = None
    pattern_hints: ClassVar[dict[str, str]] = {}  # metadata pattern -> what to type (for forms)

    def __repr__(self) -> str:
        return f"<connector type {self.connector_id}>"

    @property
    def name(self) -> str:
        """The type's display name: its schema's title."""
        return self.metadata_schema["title"]

    @property
    def secret_fields(self) -> list[str]:
        """The writeOnly properties of the schema: sealed when stored, masked when shown."""
        properties = self.metadata_schema.get("properties", {})
        return [name for name, prop in properties.items() if prop.get("writeOnly") is True]

    def path_error(self, metadata: dict, roots: list[str]) -> str | None:
        """The path rule's message when the metadata's `path` breaks it; None when it holds or is absent."""
        path = metadata.get("path")
        if self.path_rule is None or not isinstance(path, str) or self.path_rule.check(path, roots):
            return None
        return self.path_rule.message

    def typed_path(self, metadata: dict, roots: list[str]) -> dict:
        """The metadata with a `path` typed relative to a root made absolute inside it (forms accept both)."""
        path = metadata.get("path")
        if self.path_rule is None or not isinstance(path, str):
            return metadata
        return {**metadata, "path": within_roots(path, roots, self.path_rule.check)}


class FileStoreType(ConnectorType):
    """A connector whose files are listed, read and written through a FileStore."""

    mode = FILE_SYSTEM

    def open(self, metadata: dict, allowed_roots: list[str]) -> FileStore:
        """The store for opened (plaintext) metadata; the path rule is checked again at use time."""
        raise NotImplementedError


class DatabaseType(ConnectorType):
    """A connector that receives one row per file execution through SQLAlchemy."""

    mode = DATABASE
    dialect: ClassVar[str]  # the SQLAlchemy backend name, which decides the table's column types
    schema_qualified_tables: ClassVar[bool] = False

    def url(self, metadata: dict, allowed_roots: list[str] | None) -> URL:
        """The connection URL, built with URL.create so no value is spliced into a string."""
        raise NotImplementedError

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments for create_engine besides the URL."""
        return {}

    def default_schema(self, metadata: dict) -> str | None:
        """The schema of an unqualified table name (None where the database has no schemas)."""
        return None


def required(metadata: dict, names: tuple[str, ...], type_name: str) -> None:
    """Refuse metadata lacking a required value before any connection is tried."""
    for name in names:
        if not metadata.get(name):
            raise ConnectorError(f"the {type_name} connector has no {name}.")
