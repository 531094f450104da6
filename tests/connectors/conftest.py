"""Connector tests: no database engine outlives its test."""

from __future__ import annotations

import pytest

from unstract.connectors.database import dispose_engines


@pytest.fixture(autouse=True)
def _close_pools():
    yield
    dispose_engines()
