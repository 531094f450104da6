"""Exceptions raised by the connector adapters; messages are safe to show to users."""


class ConnectorError(Exception):
    """An I/O failure of a connector, with a message fit for users (never a secret)."""


class PathEscapeError(ConnectorError):
    """A relative path that would leave the connector root (.., absolute, symlink out)."""
