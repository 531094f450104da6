"""GET usage/: LLM tokens, calls and cost over the visible workflows (docs/API.md, Usage)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields

from unstract.api import api_blueprint
from unstract.api.common import documented, load_query
from unstract.auth import requester
from unstract.schemas.fields import BaseSchema, UUIDField
from unstract.schemas.representations import UsageSchema
from unstract.services import usage

blp = api_blueprint("usage", __name__, "Usage")


class UsageQueryArgsSchema(BaseSchema):
    from_ = fields.Date(data_key="from", attribute="from", load_default=None,
                        metadata={"description": "First UTC day (YYYY-MM-DD), default 29 days before `to`."})
    to = fields.Date(load_default=None, metadata={"description": "Last UTC day, inclusive; default today."})
    workflow = UUIDField(load_default=None, metadata={"description": "Only this (visible) workflow."})


class UsageDaySchema(UsageSchema):
    date = fields.String()


class UsageWorkflowSchema(UsageSchema):
    workflow = fields.String()
    workflow_name = fields.String()


class UsageReportSchema(BaseSchema):
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    totals = fields.Nested(UsageSchema)
    by_day = fields.List(fields.Nested(UsageDaySchema))
    by_workflow = fields.List(fields.Nested(UsageWorkflowSchema))


@blp.route("/usage/")
class Usage(MethodView):
    @documented(blp, query=UsageQueryArgsSchema)
    @blp.response(200, UsageReportSchema)
    def get(self):
        """LLM usage per UTC day (of the execution's start) and per workflow, over the visible workflows."""
        args = load_query(UsageQueryArgsSchema())
        return usage.report(requester(), args["from"], args["to"], args["workflow"])
