"""Schemas of the organization members resource."""

from marshmallow import fields

from unstract.schemas.fields import BaseSchema, Text, UUIDField


class MemberSchema(BaseSchema):
    id = UUIDField()
    email = fields.String()
    role = fields.String()


class MemberQueryArgsSchema(BaseSchema):
    ordering = Text(load_default=None)
