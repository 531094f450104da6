"""API deployments: managed under the org base, run at /deployment/api/<org>/<api_name>/ with their own keys."""

from unstract.api.deployments.views import blp

BLUEPRINTS = [blp]
