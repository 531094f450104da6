"""Usage resource."""

from unstract.api.usage.views import blp

BLUEPRINTS = [blp]
