"""Schemas of the workflow schedule resource."""

from __future__ import annotations

from marshmallow import fields

from unstract.schemas.fields import BaseSchema, Timestamp, UUIDField
from unstract.schemas.schedule_input import ScheduleCreateSchema

__all__ = ["ScheduleCreateSchema", "ScheduleRunSchema", "ScheduleSchema"]


class ScheduleSchema(BaseSchema):
    id = UUIDField()
    workflow = UUIDField()
    cron = fields.String()
    timezone = fields.String()
    is_active = fields.Boolean()
    description = fields.String()
    allow_overlap = fields.Boolean()
    cron_description = fields.String(metadata={"description": "The cron in words, e.g. 'every weekday at "
                                                              "06:00 Europe/Berlin'; else the cron text."})
    next_run_at = Timestamp(allow_none=True, metadata={"description": "Null while paused."})
    last_run_at = Timestamp(allow_none=True)
    last_run_status = fields.String(allow_none=True, metadata={
        "description": "The last started execution's status now; SKIPPED or FAILED when none started."})
    last_execution_id = UUIDField(allow_none=True)
    created_by = UUIDField(allow_none=True)
    created_by_email = fields.String(allow_none=True)
    created_at = Timestamp()
    modified_at = Timestamp()


class ScheduleRunSchema(BaseSchema):
    id = UUIDField()
    due_at = Timestamp()
    claimed_at = Timestamp()
    status = fields.String(metadata={"enum": ["CLAIMED", "STARTED", "SKIPPED", "FAILED"]})
    reason = fields.String()
    execution_id = UUIDField(allow_none=True)
