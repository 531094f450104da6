"""Executions resource: the read endpoints and POST workflow/execute/."""

from unstract.api.executions.execute import blp as execute_blp
from unstract.api.executions.views import blp

BLUEPRINTS = [blp, execute_blp]
