"""PostgreSQL destinations, reached with psycopg 3."""

from __future__ import annotations

from sqlalchemy.engine import URL

from unstract.connectors.types.base import DRAFT7, IDENTIFIER, DatabaseType, required


class PostgreSQL(DatabaseType):
    """A server database; a table may be named `schema.name`, else the connector's schema is used."""

    connector_id = "postgresql"
    dialect = "postgresql"
    schema_qualified_tables = True
    # fmt: off
    metadata_schema = {
        "$schema": DRAFT7, "title": "PostgreSQL", "type": "object",
        "additionalProperties": False, "required": ["host", "database", "user"],
        "properties": {
            "host": {"type": "string", "minLength": 1, "maxLength": 255},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 5432},
            "database": {"type": "string", "minLength": 1, "maxLength": 63},
            "user": {"type": "string", "minLength": 1, "maxLength": 63},
            "password": {"type": "string", "maxLength": 256, "default": "", "writeOnly": True},
            "schema": {"type": "string", "default": "public", "pattern": IDENTIFIER}}}
    # fmt: on

    def url(self, metadata: dict, allowed_roots: list[str] | None) -> URL:
        """host, database and user are required; an empty password connects without one."""
        required(metadata, ("host", "database", "user"), self.name)
        return URL.create(
            "postgresql+psycopg",
            username=metadata["user"],
            password=metadata.get("password") or None,
            host=metadata["host"],
            port=int(metadata.get("port") or 5432),
            database=metadata["database"],
        )

    def engine_options(self) -> dict:
        """A small pool per destination, checked before use and recycled, with a connect timeout."""
        return {
            "pool_size": 2,
            "max_overflow": 3,
            "pool_pre_ping": True,
            "pool_recycle": 1800,
            "connect_args": {"connect_timeout": 10},
        }

    def default_schema(self, metadata: dict) -> str | None:
        """The connector's schema, `public` when unset."""
        return metadata.get("schema") or "public"


CONNECTOR = PostgreSQL()
