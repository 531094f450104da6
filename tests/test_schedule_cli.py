"""`unstract schedule list/add/remove`: output and exit codes 0 (ok), 1 (unknown/forbidden), 2 (bad input)."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from tests.factories import acme_workflow
from unstract.cli import main
from unstract.extensions import db
from unstract.models import Schedule


@pytest.fixture
def unstract(base_env):
    def run(*args: str):
        return CliRunner().invoke(main, list(args), env=base_env, catch_exceptions=False)
    return run


def add(unstract, workflow, *extra, email="owner@acme.test"):
    return unstract("schedule", "add", "--org", "acme", "--email", email, "--workflow", str(workflow.id), *extra)


def test_add_list_and_remove(unstract, world):
    workflow = acme_workflow(world)
    result = add(unstract, workflow, "--cron", "0 6 * * 1-5", "--timezone", "Europe/Berlin")
    assert result.exit_code == 0, result.output
    schedule_id, next_run = result.stdout.strip().split("\t")
    db.session.rollback()
    assert db.session.get(Schedule, uuid.UUID(schedule_id)).next_run_at.isoformat() == next_run
    listed = unstract("schedule", "list", "--org", "acme")
    assert listed.exit_code == 0
    [line] = listed.stdout.strip().splitlines()
    assert line.split("\t") == [schedule_id, "Invoices", "active", next_run, "-",
                                "every weekday at 06:00 Europe/Berlin"]
    removed = unstract("schedule", "remove", schedule_id, "--org", "acme", "--email", "owner@acme.test")
    assert removed.exit_code == 0 and unstract("schedule", "list", "--org", "acme").stdout == ""


def test_bad_cron_or_timezone_exits_2(unstract, world):
    workflow = acme_workflow(world)
    assert add(unstract, workflow, "--cron", "every day").exit_code == 2
    result = add(unstract, workflow, "--cron", "0 6 * * *", "--timezone", "Mars/Base")
    assert result.exit_code == 2 and "Unknown time zone" in result.stderr


def test_non_owners_and_strangers_exit_1(unstract, world):
    workflow = acme_workflow(world)
    assert add(unstract, workflow, "--cron", "0 6 * * *", email="viewer@acme.test").exit_code == 1
    assert add(unstract, workflow, "--cron", "0 6 * * *", email="outsider@other.test").exit_code == 1
    assert unstract("schedule", "list", "--org", "nowhere").exit_code == 1
