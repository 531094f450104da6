"""Tools and tool instances resource."""

from unstract.api.tools.views import blp

BLUEPRINTS = [blp]
