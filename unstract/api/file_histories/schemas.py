"""The file history clear result; entries are in schemas.representations, input in schemas.file_history_input."""

from __future__ import annotations

from marshmallow import fields

from unstract.schemas.fields import BaseSchema


class FileHistoryClearResultSchema(BaseSchema):
    deleted_count = fields.Integer()
    message = fields.String()
