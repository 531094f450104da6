"""`unstract notification list/add/remove`: output, a key asked for (never an argument), exit codes."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from tests.factories import acme_workflow
from unstract.cli import main
from unstract.extensions import db
from unstract.models import Notification

URL = "https://93.184.215.14/hook"


@pytest.fixture
def unstract(base_env):
    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(main, list(args), env=base_env, input=input, catch_exceptions=False)
    return run


def add(unstract, workflow, *extra, email="owner@acme.test", input=None):
    return unstract("notification", "add", "--org", "acme", "--email", email, "--workflow", str(workflow.id),
                    *extra, input=input)


def test_add_list_and_remove(unstract, world):
    workflow = acme_workflow(world)
    result = add(unstract, workflow, "--url", URL, "--format", "slack", "--event", "execution.failed",
                 "--authorization-type", "bearer", input="s3cret-key\n")
    assert result.exit_code == 0, result.output
    notification_id, secret = result.stdout.strip().splitlines()[-1].split("\t")
    assert secret.startswith("whsec_") and "s3cret-key" not in result.stdout
    db.session.rollback()
    stored = db.session.get(Notification, uuid.UUID(notification_id))
    assert stored.authorization_key is not None and "s3cret-key" not in stored.authorization_key
    listed = unstract("notification", "list", "--org", "acme", "--email", "viewer@acme.test",
                      "--workflow", str(workflow.id))
    assert listed.exit_code == 0
    assert listed.stdout.strip().split("\t") == [notification_id, URL, "slack", "execution.failed", "active",
                                                 "bearer"]
    removed = unstract("notification", "remove", notification_id, "--org", "acme", "--email", "owner@acme.test")
    assert removed.exit_code == 0
    db.session.rollback()
    assert db.session.get(Notification, uuid.UUID(notification_id)) is None


def test_a_private_target_is_refused_with_exit_2(unstract, world):
    workflow = acme_workflow(world)
    result = add(unstract, workflow, "--url", "http://127.0.0.1:9/hook")
    assert result.exit_code == 2 and "not allowed" in result.output
    db.session.rollback()
    assert db.session.scalar(db.select(Notification.id)) is None


def test_a_viewer_may_not_add_or_remove(unstract, world):
    workflow = acme_workflow(world)
    assert add(unstract, workflow, "--url", URL, email="viewer@acme.test").exit_code == 1
    notification_id = add(unstract, workflow, "--url", URL).stdout.strip().split("\t")[0]
    removed = unstract("notification", "remove", notification_id, "--org", "acme", "--email", "viewer@acme.test")
    assert removed.exit_code == 1
    db.session.rollback()
    assert db.session.get(Notification, uuid.UUID(notification_id)) is not None
