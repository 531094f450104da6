"""Pure I/O adapters (file stores, database destinations) and the registry of connector types; no Flask, no models."""

from unstract.connectors.errors import ConnectorError, PathEscapeError

__all__ = ["ConnectorError", "PathEscapeError"]
