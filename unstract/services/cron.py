"""Cron expressions of schedules: validation, due times in a time zone, and a readable description.

Due times are computed on the schedule's wall clock and stored in UTC (docs/EXECUTION.md, Schedules):
- a wall time the clocks skip (spring forward) fires at the same minute after the jump (02:30 -> 03:30);
- a wall time the clocks repeat (fall back) fires once, at its first occurrence, unless the hour field
  is `*` (then the repeated hour runs like any other hour).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

FIELD_COUNT = 5
MAX_CRON_LENGTH = 128
MAX_TIMEZONE_LENGTH = 64
CRON_HELP = "Use five fields: minute hour day-of-month month day-of-week, e.g. '0 6 * * 1-5'."
DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = ("", "January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")
DST_WINDOW = timedelta(hours=3)  # wider than any clock change: candidates near `now` are all looked at


class CronError(ValueError):
    """A cron expression or time zone the scheduler cannot use; the message is for the user."""


def cron_problem(cron: str) -> str | None:
    """Why `cron` is no usable 5-field expression, or None."""
    if len(cron) > MAX_CRON_LENGTH:
        return f"Ensure this field has no more than {MAX_CRON_LENGTH} characters."
    fields = cron.split()
    if len(fields) != FIELD_COUNT:
        return f"Invalid cron expression: expected 5 fields, got {len(fields)}. {CRON_HELP}"
    if not croniter.is_valid(" ".join(fields)):
        return f"Invalid cron expression '{cron[:MAX_CRON_LENGTH]}'. {CRON_HELP}"
    try:
        croniter(" ".join(fields), datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        return "This cron expression never fires (no such date)."
    return None


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; CronError for anything else (also paths and other odd text)."""
    if not name or len(name) > MAX_TIMEZONE_LENGTH or name.startswith(("/", ".")):
        raise CronError(f"Unknown time zone '{name[:MAX_TIMEZONE_LENGTH]}'; use an IANA name such as Europe/Berlin.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CronError(f"Unknown time zone '{name}'; use an IANA name such as Europe/Berlin.") from None


def timezone_problem(name: str) -> str | None:
    try:
        zone(name)
    except CronError as exc:
        return str(exc)
    return None


def normalized(cron: str) -> str:
    return " ".join(cron.split())


def _hour_is_wildcard(cron: str) -> bool:
    return cron.split()[1].startswith("*")


def _instants(wall: datetime, tz: ZoneInfo, both_folds: bool) -> list[datetime]:
    """The UTC instants of a naive wall time (two in a repeated hour when `both_folds`)."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    return [first, second] if both_folds and second != first else [first]


def next_run_after(cron: str, tz_name: str, after: datetime) -> datetime:
    """The first due time strictly after `after` (aware), in UTC."""
    tz = zone(tz_name)
    after = after.astimezone(UTC)
    local = after.astimezone(tz).replace(tzinfo=None)
    candidate = croniter(cron, local).get_next(datetime)
    instant = candidate.replace(tzinfo=tz).astimezone(UTC)
    if not (_clock_changes_near(tz, after) or _clock_changes_near(tz, instant)):
        return instant
    return _next_run_near_clock_change(cron, tz, after, local)


def _clock_changes_near(tz: ZoneInfo, moment: datetime) -> bool:
    return (moment - DST_WINDOW).astimezone(tz).utcoffset() != (moment + DST_WINDOW).astimezone(tz).utcoffset()


def _next_run_near_clock_change(cron: str, tz: ZoneInfo, after: datetime, local: datetime) -> datetime:
    """Every wall time from a little before `local` is looked at, both folds where the rules take both,
    until later wall times can no longer come earlier than the best instant found."""
    walls = croniter(cron, local - DST_WINDOW)
    both_folds = _hour_is_wildcard(cron)
    best = None
    while True:
        wall = walls.get_next(datetime)
        instants = _instants(wall, tz, both_folds)
        later = [instant for instant in instants if instant > after]
        if later and (best is None or min(later) < best):
            best = min(later)
        if best is not None and instants[0] > best + DST_WINDOW:
            return best


def next_runs(cron: str, tz_name: str, after: datetime, count: int) -> list[datetime]:
    runs, moment = [], after
    for _ in range(count):
        moment = next_run_after(cron, tz_name, moment)
        runs.append(moment)
    return runs


# --- Description ----------------------------------------------------------------------------------

def _number(field: str, low: int, high: int) -> int | None:
    return int(field) if field.isdigit() and low <= int(field) <= high else None


def _days_of_week(field: str) -> str | None:
    named = {"1-5": "every weekday", "0,6": "every weekend day", "6,0": "every weekend day",
             "*": "every day", "0-6": "every day"}
    if field in named:
        return named[field]
    days = [_number(part, 0, 7) for part in field.split(",")]
    if all(day is not None for day in days):
        return "every " + _joined([DAY_NAMES[day] for day in days])
    return None


def _joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _on_days(day_of_month: str, month: str, day_of_week: str) -> str | None:
    """The day part of a daily/weekly/monthly/yearly form, or None for anything else."""
    day = _number(day_of_month, 1, 31)
    if day_of_month == "*" and month == "*":
        return _days_of_week(day_of_week)
    if day is not None and month == "*" and day_of_week == "*":
        return f"on day {day} of every month"
    month_number = _number(month, 1, 12)
    if day is not None and month_number is not None and day_of_week == "*":
        return f"every year on {MONTH_NAMES[month_number]} {day}"
    return None


def describe(cron: str, tz_name: str) -> str:
    """Common forms in words ("every weekday at 06:00 Europe/Berlin"); otherwise the cron text itself."""
    minute, hour, day_of_month, month, day_of_week = cron.split()
    if (minute, hour, day_of_month, month, day_of_week) == ("*", "*", "*", "*", "*"):
        return "every minute"
    if minute.startswith("*/") and (hour, day_of_month, month, day_of_week) == ("*", "*", "*", "*") \
            and _number(minute[2:], 1, 59):
        return f"every {int(minute[2:])} minutes"
    at_minute, at_hour = _number(minute, 0, 59), _number(hour, 0, 23)
    if at_minute is not None and (hour, day_of_month, month, day_of_week) == ("*", "*", "*", "*"):
        return f"every hour at minute {at_minute}"
    if hour.startswith("*/") and at_minute is not None and (day_of_month, month, day_of_week) == ("*", "*", "*") \
            and _number(hour[2:], 1, 23):
        return f"every {int(hour[2:])} hours at minute {at_minute} {tz_name}"
    days = _on_days(day_of_month, month, day_of_week)
    if at_minute is not None and at_hour is not None and days is not None:
        return f"{days} at {at_hour:02d}:{at_minute:02d} {tz_name}"
    return f"cron '{cron}' {tz_name}"
