"""Schemas of the workflow schedule resource."""

from __future__ import annotations

from marshmallow import fields

from unstract.schemas.fields import BaseSchema, StrictBoolean, Text, Timestamp, UUIDField, max_length
from unstract.services.cron import MAX_CRON_LENGTH, MAX_TIMEZONE_LENGTH


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


class ScheduleCreateSchema(BaseSchema):
    """Body of POST workflow/{id}/schedules/; the cron and time zone rules live in the service."""

    cron = Text(required=True, trim=True, allow_blank=False, validate=max_length(MAX_CRON_LENGTH), metadata={
        "description": "Five fields: minute hour day-of-month month day-of-week.", "example": "0 6 * * 1-5"})
    timezone = Text(trim=True, validate=max_length(MAX_TIMEZONE_LENGTH),
                    metadata={"description": "An IANA time zone; default UTC.", "example": "Europe/Berlin"})
    is_active = StrictBoolean()
    description = Text(validate=max_length(490))
    allow_overlap = StrictBoolean(metadata={
        "description": "Start a run while the previous one is still going; default false (the run is skipped)."})
