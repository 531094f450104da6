"""Built-in tools and the tool instances (steps) of workflows."""

from __future__ import annotations

from flask.views import MethodView

from unstract.api import api_blueprint
from unstract.api.common import (
    documented,
    load_query,
    page_schema,
    paginate,
    paginate_list,
    parse_body,
    require_json_content_type,
)
from unstract.api.tools.schemas import (
    ToolInstanceCreateSchema,
    ToolInstanceQueryArgsSchema,
    ToolInstanceUpdateSchema,
    ToolSchema,
)
from unstract.auth import requester
from unstract.policy import get_visible_workflow
from unstract.schemas.representations import ToolInstanceSchema
from unstract.services import tool_instances

blp = api_blueprint("tools", __name__, "Tools and tool instances")


@blp.route("/tool/")
class Tools(MethodView):
    @documented(blp, paginated=True)
    @blp.response(200, page_schema(ToolSchema))
    def get(self):
        """List the built-in tools and their settings schemas."""
        return paginate_list(tool_instances.tools())


@blp.route("/tool_instance/")
class ToolInstances(MethodView):
    @documented(blp, query=ToolInstanceQueryArgsSchema, paginated=True)
    @blp.response(200, page_schema(ToolInstanceSchema))
    def get(self):
        """List a workflow's tool instances by step."""
        who = requester()
        args = load_query(ToolInstanceQueryArgsSchema())
        workflow = get_visible_workflow(who, args["workflow_id"])
        return paginate(tool_instances.list_query(workflow), tool_instances.present)

    @documented(blp, body="ToolInstanceCreateBody")
    @blp.response(201, ToolInstanceSchema)
    def post(self):
        """Add a step to a workflow (owner of the workflow)."""
        who = requester()
        data, problems = parse_body(ToolInstanceCreateSchema())
        return tool_instances.create(who, data, problems)


@blp.route("/tool_instance/<uuid:instance_id>/")
class ToolInstanceById(MethodView):
    @blp.response(200, ToolInstanceSchema)
    def get(self, instance_id):
        """Retrieve a tool instance."""
        return tool_instances.present(tool_instances.get_instance(requester(), instance_id))

    @documented(blp, body="ToolInstanceUpdateBody")
    @blp.response(200, ToolInstanceSchema)
    def patch(self, instance_id):
        """Change a tool instance's settings or move it to another step (owner)."""
        require_json_content_type()  # the content type (415) before the lookup (404): docs/API.md, Order of checks
        instance = tool_instances.get_instance(requester(), instance_id, owner=True)
        data, problems = parse_body(ToolInstanceUpdateSchema())
        return tool_instances.update(instance, data, problems)

    @blp.response(204)
    def delete(self, instance_id):
        """Remove a step; later steps move up by one (owner)."""
        tool_instances.delete_instance(tool_instances.get_instance(requester(), instance_id, owner=True))
        return ""
