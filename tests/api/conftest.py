"""API test fixtures: the owner's key and a workflow of hers shared with the viewer."""

from __future__ import annotations

import pytest

from tests.factories import make_workflow


@pytest.fixture
def workflow(world):
    """A workflow of acme owned by `owner` and shared with `viewer` (a module may define its own)."""
    return make_workflow(world.users["owner"], "acme", viewers=[world.users["viewer"]])


@pytest.fixture
def api(world):
    """An ApiClient with a full-access key of `owner`."""
    return world.api("owner")
