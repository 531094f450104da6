"""Workflow schedules resource."""

from unstract.api.schedules.views import blp

BLUEPRINTS = [blp]
