"""Workflow endpoints: the source and destination of a workflow."""

from __future__ import annotations

from flask.views import MethodView

from unstract.api import api_blueprint
from unstract.api.common import documented, page_schema, paginate, parse_body, require_json_content_type
from unstract.api.endpoints.schemas import WorkflowEndpointSchema, WorkflowEndpointUpdateSchema
from unstract.auth import requester
from unstract.policy import get_visible_workflow
from unstract.services import endpoints

blp = api_blueprint("endpoints", __name__, "Workflow endpoints")


@blp.route("/workflow/<uuid:workflow_id>/endpoint/")
class WorkflowEndpoints(MethodView):
    @documented(blp, paginated=True)
    @blp.response(200, page_schema(WorkflowEndpointSchema))
    def get(self, workflow_id):
        """List a workflow's endpoints, SOURCE first."""
        workflow = get_visible_workflow(requester(), workflow_id)
        return paginate(endpoints.list_query(workflow), endpoints.present)


@blp.route("/workflow/endpoint/<uuid:endpoint_id>/")
class WorkflowEndpointById(MethodView):
    @blp.response(200, WorkflowEndpointSchema)
    def get(self, endpoint_id):
        """Retrieve a workflow endpoint."""
        return endpoints.present(endpoints.get_endpoint(requester(), endpoint_id))

    @documented(blp, body=WorkflowEndpointUpdateSchema)
    @blp.response(200, WorkflowEndpointSchema)
    def patch(self, endpoint_id):
        """Configure a workflow endpoint: connection type, connector and configuration (owner)."""
        require_json_content_type()  # the content type (415) before the lookup (404): docs/API.md, Order of checks
        who = requester()
        endpoint = endpoints.get_endpoint(who, endpoint_id, owner=True)
        data, problems = parse_body(WorkflowEndpointUpdateSchema())
        return endpoints.update(who, endpoint, data, problems)
