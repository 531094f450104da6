"""File history resource."""

from unstract.api.file_histories.views import blp

BLUEPRINTS = [blp]
