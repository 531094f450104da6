"""Workflow schedules over the API: validation (cron, time zone), next_run_at, pause/resume, rights."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.api.calls import errors_of
from tests.factories import acme_workflow
from unstract.extensions import db
from unstract.models import Schedule
from unstract.services import cron


@pytest.fixture
def flow(world):
    return acme_workflow(world)


def post(world, workflow_id, body, who="owner"):
    return world.api(who).post(f"workflow/{workflow_id}/schedules/", json=body)


def created(world, flow, **body) -> dict:
    response = post(world, flow.id, {"cron": "0 6 * * 1-5", **body})
    assert response.status_code == 201, response.json
    return response.json


def test_create_fills_defaults_and_plans_the_next_run(world, flow):
    body = created(world, flow, timezone="Europe/Berlin", description="morning run")
    assert list(body) == ["id", "workflow", "cron", "timezone", "is_active", "description", "allow_overlap",
                          "cron_description", "next_run_at", "last_run_at", "last_run_status",
                          "last_execution_id", "created_by", "created_by_email", "created_at", "modified_at"]
    assert body["workflow"] == str(flow.id) and body["is_active"] is True and body["allow_overlap"] is False
    assert body["cron_description"] == "every weekday at 06:00 Europe/Berlin"
    assert body["last_run_at"] is None and body["last_run_status"] is None and body["last_execution_id"] is None
    assert body["created_by_email"] == "owner@acme.test"
    due = datetime.fromisoformat(body["next_run_at"])
    local = due.astimezone(cron.zone("Europe/Berlin"))
    assert (local.hour, local.minute, local.weekday() < 5) == (6, 0, True) and due > datetime.now(UTC)
    assert post(world, flow.id, {"cron": "*/5 * * * *"}).json["timezone"] == "UTC"


@pytest.mark.parametrize("expression", ["* * * * * *", "61 * * * *", "@daily", "every day", "0 0 31 2 *", ""])
def test_nonsense_cron_is_a_clear_400(world, flow, expression):
    [error] = errors_of(post(world, flow.id, {"cron": expression}))
    assert error["attr"] == "cron" and error["code"] in ("invalid", "blank")
    assert db.session.query(Schedule).count() == 0


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "/etc/localtime", "utc+2", "x" * 65])
def test_unknown_timezone_is_a_400(world, flow, name):
    [error] = errors_of(post(world, flow.id, {"cron": "0 6 * * *", "timezone": name}))
    assert error["attr"] == "timezone"


def test_field_errors_come_in_field_order(world, flow):
    errors = errors_of(post(world, flow.id, {"cron": "bad", "timezone": "Nowhere/City", "is_active": "yes",
                                             "allow_overlap": 1}))
    assert [e["attr"] for e in errors] == ["cron", "timezone", "is_active", "allow_overlap"]


def test_cron_is_required(world, flow):
    [error] = errors_of(post(world, flow.id, {}))
    assert error == {"code": "required", "detail": "This field is required.", "attr": "cron"}


def test_pause_clears_and_resume_replans_the_next_run(world, flow):
    schedule = created(world, flow)
    api = world.api("owner")
    paused = api.patch(f"workflow/schedules/{schedule['id']}/", json={"is_active": False}).json
    assert paused["is_active"] is False and paused["next_run_at"] is None
    resumed = api.patch(f"workflow/schedules/{schedule['id']}/", json={"is_active": True}).json
    assert resumed["next_run_at"] == schedule["next_run_at"]
    changed = api.patch(f"workflow/schedules/{schedule['id']}/",
                        json={"cron": "30  7 * * 0", "timezone": "America/New_York"}).json
    assert changed["cron"] == "30 7 * * 0" and changed["cron_description"] == "every Sunday at 07:30 America/New_York"
    local = datetime.fromisoformat(changed["next_run_at"]).astimezone(cron.zone("America/New_York"))
    assert (local.hour, local.minute, local.isoweekday()) == (7, 30, 7)
    assert errors_of(api.patch(f"workflow/schedules/{schedule['id']}/", json={"cron": "* *"}))[0]["attr"] == "cron"


def test_list_get_and_delete(world, flow):
    first, second = created(world, flow), created(world, flow, cron="0 0 1 * *")
    viewer = world.api("viewer")
    listed = viewer.get(f"workflow/{flow.id}/schedules/").json
    assert listed["count"] == 2 and [s["id"] for s in listed["results"]] == [first["id"], second["id"]]
    assert viewer.get(f"workflow/schedules/{first['id']}/").json == first
    assert viewer.get(f"workflow/schedules/{first['id']}/runs/").json["count"] == 0
    assert world.api("owner").delete(f"workflow/schedules/{first['id']}/").status_code == 204
    assert viewer.get(f"workflow/schedules/{first['id']}/").status_code == 404


def test_only_owners_and_admins_write(world, flow):
    schedule = created(world, flow)
    for who in ("viewer",):
        assert post(world, flow.id, {"cron": "0 6 * * *"}, who).status_code == 403
        assert world.api(who).patch(f"workflow/schedules/{schedule['id']}/", json={}).status_code == 403
        assert world.api(who).delete(f"workflow/schedules/{schedule['id']}/").status_code == 403
    assert post(world, flow.id, {"cron": "0 6 * * *"}, "admin").status_code == 201
    # A member the workflow is not shared with does not see it at all.
    assert world.api("member").get(f"workflow/schedules/{schedule['id']}/").status_code == 404
    assert post(world, flow.id, {"cron": "0 6 * * *"}, "member").status_code == 404


def test_other_organizations_get_404(world, flow):
    schedule = created(world, flow)
    outsider = world.api("outsider", org_id="other")
    assert outsider.get(f"workflow/schedules/{schedule['id']}/").status_code == 404
    assert outsider.patch(f"workflow/schedules/{schedule['id']}/", json={"is_active": False}).status_code == 404
    assert outsider.delete(f"workflow/schedules/{schedule['id']}/").status_code == 404
    assert outsider.get(f"workflow/{flow.id}/schedules/").status_code == 404
    assert world.api("owner").get(f"workflow/schedules/{uuid.uuid4()}/").status_code == 404


def test_deleting_the_workflow_deletes_its_schedules(world, flow):
    schedule = created(world, flow)
    assert world.api("owner").delete(f"workflow/{flow.id}/").status_code == 204
    assert world.api("owner").get(f"workflow/schedules/{schedule['id']}/").status_code == 404
    assert db.session.get(Schedule, uuid.UUID(schedule["id"])) is None
