"""Workflow management resource (§1.0–§1.11, §2.2)."""

from unstract.api.workflows.views import blp

BLUEPRINTS = [blp]
