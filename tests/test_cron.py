"""Due times of cron schedules on a time zone's wall clock (also across DST), and their description."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from unstract.services.cron import CronError, cron_problem, describe, next_run_after, next_runs, zone


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_weekday_mornings_follow_the_wall_clock_across_spring_forward():
    # Berlin moves from UTC+1 to UTC+2 on Sunday 2026-03-29.
    runs = next_runs("0 6 * * 1-5", "Europe/Berlin", utc(2026, 3, 26, 12), 3)
    assert runs == [utc(2026, 3, 27, 5), utc(2026, 3, 30, 4), utc(2026, 3, 31, 4)]


def test_a_skipped_wall_time_fires_once_after_the_jump():
    runs = next_runs("30 2 * * *", "Europe/Berlin", utc(2026, 3, 28, 12), 2)
    assert runs == [utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]  # 03:30 CEST, then 02:30 CEST


def test_a_repeated_wall_time_fires_once_in_the_fall():
    runs = next_runs("30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12), 2)
    assert runs == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_an_hourly_schedule_also_runs_in_the_repeated_hour():
    runs = next_runs("0 * * * *", "Europe/Berlin", utc(2026, 10, 24, 23, 30), 4)
    assert runs == [utc(2026, 10, 25, 0), utc(2026, 10, 25, 1), utc(2026, 10, 25, 2), utc(2026, 10, 25, 3)]


def test_the_next_run_is_strictly_after_the_moment():
    assert next_run_after("*/15 * * * *", "UTC", utc(2026, 1, 1, 10, 15)) == utc(2026, 1, 1, 10, 30)
    assert next_run_after("0 9 * * *", "America/New_York", utc(2026, 7, 1, 13)) == utc(2026, 7, 2, 13)


@pytest.mark.parametrize(("expression", "problem"), [
    ("* * * * *", None), ("0 6 * * 1-5", None), ("*/5 0-6 1,15 * MON", None),
    ("* * * * * *", "expected 5 fields, got 6"), ("@hourly", "expected 5 fields, got 1"),
    ("60 * * * *", "Invalid cron expression"), ("0 6 * * 8", "Invalid cron expression"),
    ("0 0 30 2 *", "never fires"), ("x" * 200, "no more than 128"),
])
def test_cron_problems(expression, problem):
    found = cron_problem(expression)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize("name", ["Nowhere/City", "../zoneinfo/UTC", "/usr/share/zoneinfo/UTC", "", "Europe/"])
def test_unknown_zones(name):
    with pytest.raises(CronError):
        zone(name)


@pytest.mark.parametrize(("expression", "words"), [
    ("0 6 * * 1-5", "every weekday at 06:00 Europe/Berlin"),
    ("30 18 * * *", "every day at 18:30 Europe/Berlin"),
    ("0 9 * * 1", "every Monday at 09:00 Europe/Berlin"),
    ("0 9 * * 1,3", "every Monday and Wednesday at 09:00 Europe/Berlin"),
    ("0 0 1 * *", "on day 1 of every month at 00:00 Europe/Berlin"),
    ("15 8 25 12 *", "every year on December 25 at 08:15 Europe/Berlin"),
    ("*/10 * * * *", "every 10 minutes"),
    ("5 * * * *", "every hour at minute 5"),
    ("* * * * *", "every minute"),
    ("0 */6 * * *", "every 6 hours at minute 0 Europe/Berlin"),
    ("0 6 1-7 * 1", "cron '0 6 1-7 * 1' Europe/Berlin"),
])
def test_descriptions(expression, words):
    assert describe(expression, "Europe/Berlin") == words
