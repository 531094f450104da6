"""The schedule body the API and the dashboard both read."""

from __future__ import annotations

from unstract.schemas.fields import BaseSchema, StrictBoolean, Text, max_length
from unstract.services.cron import MAX_CRON_LENGTH, MAX_TIMEZONE_LENGTH


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
