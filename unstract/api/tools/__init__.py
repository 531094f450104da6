"""API resource package."""

BLUEPRINTS: list = []
