"""Workflow endpoints resource."""

from unstract.api.endpoints.views import blp

BLUEPRINTS = [blp]
