"""Connectors resource."""

from unstract.api.connectors.views import blp

BLUEPRINTS = [blp]
