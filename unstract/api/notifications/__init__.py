"""Notifications resource (webhooks) and their deliveries."""

from unstract.api.notifications.views import blp

BLUEPRINTS = [blp]
