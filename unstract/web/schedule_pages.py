"""The workflow page's Schedules section: create, pause, resume and delete through the API's service.

Routes of the `web_workflows` blueprint; htmx swaps the section, a plain form gets the page back.
"""

from __future__ import annotations

import uuid

from flask import request
from flask_login import login_required

from unstract.errors import NotFound, ValidationFailed
from unstract.schemas.parsing import parse
from unstract.schemas.schedule_input import ScheduleCreateSchema
from unstract.services import schedules
from unstract.web.schedule_section import schedules_section
from unstract.web.workflow_detail_pages import section_response
from unstract.web.workflows_blueprint import bp, owned_workflow

FORM_FIELDS = ("cron", "timezone", "description")


def _section_response(who, workflow, status: int = 200, **built):
    section = schedules_section(workflow, can_edit=True, **built)
    return section_response(who, workflow, "schedules", section, status)


@bp.post("/workflows/<uuid:workflow_id>/schedules")
@login_required
def create_schedule(workflow_id: uuid.UUID):
    """A new schedule from the section's form (the API's rules and messages)."""
    who, workflow = owned_workflow(workflow_id)
    form = {name: request.form.get(name, "") for name in FORM_FIELDS}
    body = {**form, "allow_overlap": request.form.get("allow_overlap") == "true"}
    data, problems = parse(ScheduleCreateSchema(), body)
    try:
        schedules.create(who, workflow.id, data, problems)
    except ValidationFailed as exc:
        return _section_response(who, workflow, 400, form=form, messages=exc.messages)
    return _section_response(who, workflow, message="Schedule created.")


def _owned_schedule(workflow_id: uuid.UUID, schedule_id: uuid.UUID):
    who, workflow = owned_workflow(workflow_id)
    schedule = schedules.get_schedule(who, schedule_id, owner=True)
    if schedule.workflow_id != workflow.id:
        raise NotFound()
    return who, workflow, schedule


@bp.post("/workflows/<uuid:workflow_id>/schedules/<uuid:schedule_id>/pause")
@login_required
def pause_schedule(workflow_id: uuid.UUID, schedule_id: uuid.UUID):
    who, workflow, schedule = _owned_schedule(workflow_id, schedule_id)
    schedules.set_active(schedule, False)
    return _section_response(who, workflow, message="Schedule paused.")


@bp.post("/workflows/<uuid:workflow_id>/schedules/<uuid:schedule_id>/resume")
@login_required
def resume_schedule(workflow_id: uuid.UUID, schedule_id: uuid.UUID):
    who, workflow, schedule = _owned_schedule(workflow_id, schedule_id)
    schedules.set_active(schedule, True)
    return _section_response(who, workflow, message="Schedule resumed; it next runs at its next due time.")


@bp.post("/workflows/<uuid:workflow_id>/schedules/<uuid:schedule_id>/delete")
@login_required
def delete_schedule(workflow_id: uuid.UUID, schedule_id: uuid.UUID):
    who, workflow, schedule = _owned_schedule(workflow_id, schedule_id)
    schedules.delete_schedule(schedule)
    return _section_response(who, workflow, message="Schedule deleted.")
