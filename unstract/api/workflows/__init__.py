"""Workflow management resource: CRUD, actions, sharing and co-owners."""

from unstract.api.workflows.views import blp

BLUEPRINTS = [blp]
