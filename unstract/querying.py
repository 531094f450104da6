"""Query text helpers shared by the API, the services and the pages (no Flask, no models)."""

from __future__ import annotations


def like_prefix(value: str) -> str:
    """A LIKE pattern matching `value` literally as a prefix (backslash escapes; docs/API.md, Ordering and filters)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def like_contains(value: str) -> str:
    """A LIKE pattern matching `value` literally anywhere (escape char is backslash)."""
    return "%" + like_prefix(value)
