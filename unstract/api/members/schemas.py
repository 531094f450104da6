"""Schemas of the organization members resource (§2.1)."""

from marshmallow import fields

from unstract.api.fields import BaseSchema, Text


class MemberSchema(BaseSchema):
    id = fields.UUID()
    email = fields.String()
    role = fields.String()


class MemberQueryArgsSchema(BaseSchema):
    ordering = Text(load_default=None)
