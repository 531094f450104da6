"""Organization members resource."""

from unstract.api.members.views import blp

BLUEPRINTS = [blp]
