"""Engine test fixtures."""

from __future__ import annotations

import pytest

from tests.factories import organization


@pytest.fixture
def acme(world):
    """Org acme's row (the `world` fixture creates it)."""
    return organization("acme")
