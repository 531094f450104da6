"""GET member/: the organization's members, to find ids for sharing."""

from __future__ import annotations

from flask.views import MethodView

from unstract.api import api_blueprint
from unstract.api.common import apply_ordering, documented, load_query, page_schema, paginate
from unstract.api.members.schemas import MemberQueryArgsSchema, MemberSchema
from unstract.auth import requester
from unstract.models import User
from unstract.services import accounts

blp = api_blueprint("members", __name__, "Organization members")


@blp.route("/member/")
class Members(MethodView):
    @documented(blp, query=MemberQueryArgsSchema, paginated=True)
    @blp.response(200, page_schema(MemberSchema))
    def get(self):
        """List the organization's members."""
        args = load_query(MemberQueryArgsSchema())
        query = apply_ordering(accounts.members_query(requester()), args["ordering"], accounts.MEMBER_ORDERING,
                               "email", User.id)
        return paginate(query, accounts.present_member, scalars=False)
