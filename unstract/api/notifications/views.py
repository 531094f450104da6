"""Notifications: webhooks told about each terminal execution of a workflow (docs/API.md, Notifications)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from unstract.api import api_blueprint
from unstract.api.common import documented, page_schema, paginate, parse_body, require_json_content_type
from unstract.api.notifications.schemas import DeliverySchema, NotificationSchema
from unstract.auth import requester
from unstract.policy import get_visible_workflow
from unstract.schemas.notification_input import NotificationCreateSchema, NotificationUpdateSchema
from unstract.services import notifications

blp = api_blueprint("notifications", __name__, "Notifications")


def _write_settings() -> dict:
    return notifications.write_settings(current_app.config)


@blp.route("/workflow/<uuid:workflow_id>/notifications/")
class WorkflowNotifications(MethodView):
    @documented(blp, paginated=True)
    @blp.response(200, page_schema(NotificationSchema))
    def get(self, workflow_id):
        """List a workflow's notifications (credentials never shown)."""
        workflow = get_visible_workflow(requester(), workflow_id)
        return paginate(notifications.list_query(workflow), notifications.present)

    @documented(blp, body=NotificationCreateSchema)
    @blp.response(201, NotificationSchema)
    def post(self, workflow_id):
        """Add a notification (owner); a generated secret is returned here, once."""
        require_json_content_type()
        who = requester()
        workflow = get_visible_workflow(who, workflow_id, owner=True)
        data, problems = parse_body(NotificationCreateSchema())
        return notifications.create(who, workflow, data, problems, **_write_settings())


@blp.route("/workflow/notifications/<uuid:notification_id>/")
class NotificationById(MethodView):
    @blp.response(200, NotificationSchema)
    def get(self, notification_id):
        """Retrieve a notification."""
        return notifications.present(notifications.get_notification(requester(), notification_id))

    @documented(blp, body=NotificationUpdateSchema)
    @blp.response(200, NotificationSchema)
    def patch(self, notification_id):
        """Change a notification (owner); absent credentials are kept."""
        require_json_content_type()
        notification = notifications.get_notification(requester(), notification_id, owner=True)
        data, problems = parse_body(NotificationUpdateSchema())
        return notifications.update(notification, data, problems, **_write_settings())

    @blp.response(204)
    def delete(self, notification_id):
        """Delete a notification and its delivery log (owner)."""
        notifications.delete(notifications.get_notification(requester(), notification_id, owner=True))
        return ""


@blp.route("/workflow/notifications/<uuid:notification_id>/deliveries/")
class NotificationDeliveries(MethodView):
    @documented(blp, paginated=True)
    @blp.response(200, page_schema(DeliverySchema))
    def get(self, notification_id):
        """The delivery log, newest first."""
        notification = notifications.get_notification(requester(), notification_id)
        return paginate(notifications.deliveries_query(notification), notifications.present_delivery)


@blp.route("/workflow/notifications/<uuid:notification_id>/deliveries/<uuid:delivery_id>/redeliver/")
class Redeliver(MethodView):
    @blp.response(202, DeliverySchema)
    def post(self, notification_id, delivery_id):
        """Queue a delivery again now, with a fresh retry budget (owner)."""
        notification = notifications.get_notification(requester(), notification_id, owner=True)
        return notifications.redeliver(notifications.get_delivery(notification, delivery_id))
