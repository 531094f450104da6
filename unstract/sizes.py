"""Sizes of JSON values as the API sends them (compact UTF-8), and the fixed bounds on them.

The configurable bounds (a file's output, a tool's text, the parts of a form) are in config.Settings."""

from __future__ import annotations

import json

LIST_RESULT_BYTES = 64 * 1024  # a list item shows `result` up to this size; the one-row endpoints always
CONFIG_JSON_BYTES = 256 * 1024  # a JSON configuration value (settings, metadata, endpoint configuration)

_COMPACT = {"ensure_ascii": False, "separators": (",", ":")}


def json_size(value) -> int:
    """Bytes of the value's compact JSON in UTF-8 (what a response body spends on it)."""
    return len(json.dumps(value, **_COMPACT).encode("utf-8", "surrogatepass"))


def json_size_exceeds(value, limit: int) -> bool:
    """Whether json_size(value) > limit, encoding only until the limit is passed (a 30 MB value
    costs what its first `limit` bytes cost)."""
    total = 0
    for chunk in json.JSONEncoder(**_COMPACT).iterencode(value):
        total += len(chunk.encode("utf-8", "surrogatepass"))
        if total > limit:
            return True
    return False
