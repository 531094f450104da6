"""Schemas of the organization members resource."""

from marshmallow import fields

from unstract.schemas.fields import BaseSchema, UUIDField, ordering_field
from unstract.services import accounts


class MemberSchema(BaseSchema):
    id = UUIDField()
    email = fields.String()
    role = fields.String()


class MemberQueryArgsSchema(BaseSchema):
    ordering = ordering_field(accounts.MEMBER_ORDERING, "email")
