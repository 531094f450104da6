"""The Schedules section of the workflow page: create, pause/resume, delete, history, rights, escaping."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.factories import make_schedule
from tests.web.web_client import XSS_NAME, html, htmx, is_full_page, post
from unstract.extensions import db
from unstract.models import Schedule, ScheduleRun


def schedules_of(workflow) -> list[Schedule]:
    db.session.rollback()
    return db.session.scalars(db.select(Schedule).where(Schedule.workflow_id == workflow.id)).all()


def test_an_owner_adds_a_schedule_and_sees_it_in_words_with_five_next_runs(owner_client, workflow):
    page = html(owner_client.get(f"/workflows/{workflow.id}"))
    assert 'id="schedules"' in page and "Not scheduled." in page
    response = post(owner_client, f"/workflows/{workflow.id}/schedules", headers=htmx(),
                    data={"cron": "0 6 * * 1-5", "timezone": "Europe/Berlin", "description": "morning"})
    fragment = html(response)
    assert response.status_code == 200 and not is_full_page(fragment)
    assert "every weekday at 06:00 Europe/Berlin" in fragment and "Schedule created." in fragment
    assert fragment.count("<li><time") == 5 and "06:00 CE" in fragment
    [schedule] = schedules_of(workflow)
    assert (schedule.cron, schedule.timezone, schedule.description) == ("0 6 * * 1-5", "Europe/Berlin", "morning")


def test_a_bad_cron_or_zone_is_shown_at_its_field(owner_client, workflow):
    response = post(owner_client, f"/workflows/{workflow.id}/schedules", headers=htmx(),
                    data={"cron": "61 * * *", "timezone": "Mars/Base"})
    fragment = html(response)
    assert response.status_code == 400
    assert 'id="schedule-cron-error"' in fragment and "expected 5 fields" in fragment
    assert 'id="schedule-timezone-error"' in fragment and "Unknown time zone" in fragment
    assert 'value="61 * * *"' in fragment and schedules_of(workflow) == []


def test_a_plain_form_post_redirects_to_the_section(owner_client, workflow):
    response = post(owner_client, f"/workflows/{workflow.id}/schedules",
                    data={"cron": "*/5 * * * *", "timezone": "UTC"})
    assert response.status_code == 303 and response.headers["Location"].endswith("#schedules")


def test_pause_resume_and_delete(owner_client, workflow):
    schedule = make_schedule(workflow)
    base = f"/workflows/{workflow.id}/schedules/{schedule.id}"
    paused = html(post(owner_client, f"{base}/pause", headers=htmx()))
    assert "paused" in paused and "none while paused" in paused and f"{base}/resume" in paused
    assert schedules_of(workflow)[0].next_run_at is None
    resumed = html(post(owner_client, f"{base}/resume", headers=htmx()))
    assert f"{base}/pause" in resumed and schedules_of(workflow)[0].next_run_at is not None
    html(post(owner_client, f"{base}/delete", headers=htmx()))
    assert schedules_of(workflow) == []


def test_history_shows_runs_with_their_execution_or_reason(owner_client, workflow):
    schedule = make_schedule(workflow)
    db.session.add(ScheduleRun(schedule_id=schedule.id, due_at=datetime(2026, 7, 1, 6, tzinfo=UTC),
                               status="SKIPPED", reason="Workflow is inactive."))
    db.session.commit()
    page = html(owner_client.get(f"/workflows/{workflow.id}"))
    assert "2026-07-01 06:00" in page and "SKIPPED" in page and "Workflow is inactive." in page


def test_viewers_read_but_cannot_write(viewer_client, workflow):
    schedule = make_schedule(workflow)
    page = html(viewer_client.get(f"/workflows/{workflow.id}"))
    assert "every day at 06:00 UTC" in page and "Add a schedule" not in page and "/pause" not in page
    assert post(viewer_client, f"/workflows/{workflow.id}/schedules", data={"cron": "0 6 * * *"}).status_code == 403
    assert post(viewer_client, f"/workflows/{workflow.id}/schedules/{schedule.id}/delete").status_code == 403
    assert len(schedules_of(workflow)) == 1


def test_posts_need_the_csrf_token(owner_client, workflow):
    response = owner_client.post(f"/workflows/{workflow.id}/schedules", data={"cron": "0 6 * * *"})
    assert response.status_code == 400 and schedules_of(workflow) == []  # the CSRF refusal


def test_text_is_escaped(owner_client, workflow):
    make_schedule(workflow, description=XSS_NAME)
    page = html(owner_client.get(f"/workflows/{workflow.id}"))
    assert XSS_NAME not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    fragment = html(post(owner_client, f"/workflows/{workflow.id}/schedules", headers=htmx(),
                         data={"cron": XSS_NAME, "timezone": XSS_NAME}))
    assert XSS_NAME not in fragment
