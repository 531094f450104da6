"""Adapters resource."""

from unstract.api.adapters.views import blp

BLUEPRINTS = [blp]
