"""The overview's "Upcoming runs": the next due time of the organization's schedules, soonest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from unstract.policy import Requester
from unstract.services import cron, schedules
from unstract.web.schedule_section import wall_clock

UPCOMING_SHOWN = 10


@dataclass(frozen=True)
class UpcomingRun:
    workflow_id: uuid.UUID
    workflow_name: str
    words: str  # the cron in words, with its time zone
    due_at: datetime  # UTC
    local: str  # the same moment on the schedule's wall clock


def upcoming_runs(who: Requester) -> list[UpcomingRun]:
    """Schedules of the workflows `who` sees; paused ones have no next run and are left out."""
    return [UpcomingRun(schedule.workflow_id, name, cron.describe(schedule.cron, schedule.timezone),
                        schedule.next_run_at, wall_clock(schedule.next_run_at, schedule.timezone))
            for schedule, name in schedules.soonest(who, UPCOMING_SHOWN)]
