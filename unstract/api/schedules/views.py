"""Workflow schedules: cron schedules of a workflow and the history of their runs."""

from __future__ import annotations

from flask.views import MethodView

from unstract.api import api_blueprint
from unstract.api.common import documented, page_schema, paginate, parse_body, require_json_content_type
from unstract.api.schedules.schemas import ScheduleCreateSchema, ScheduleRunSchema, ScheduleSchema
from unstract.auth import requester
from unstract.policy import get_visible_workflow
from unstract.services import schedules

blp = api_blueprint("schedules", __name__, "Workflow schedules")


@blp.route("/workflow/<uuid:workflow_id>/schedules/")
class WorkflowSchedules(MethodView):
    @documented(blp, paginated=True)
    @blp.response(200, page_schema(ScheduleSchema))
    def get(self, workflow_id):
        """List a workflow's schedules, oldest first."""
        workflow = get_visible_workflow(requester(), workflow_id)
        return paginate(schedules.list_query(workflow), schedules.present)

    @documented(blp, body=ScheduleCreateSchema)
    @blp.response(201, ScheduleSchema)
    def post(self, workflow_id):
        """Schedule the workflow with a cron expression in a time zone (owner)."""
        require_json_content_type()
        who = requester()
        data, problems = parse_body(ScheduleCreateSchema())
        return schedules.create(who, workflow_id, data, problems)


@blp.route("/workflow/schedules/<uuid:schedule_id>/")
class ScheduleById(MethodView):
    @blp.response(200, ScheduleSchema)
    def get(self, schedule_id):
        """Retrieve a schedule."""
        return schedules.present(schedules.get_schedule(requester(), schedule_id))

    @documented(blp, body=ScheduleCreateSchema)
    @blp.response(200, ScheduleSchema)
    def patch(self, schedule_id):
        """Change a schedule; `is_active` false pauses it, true resumes it from now (owner)."""
        require_json_content_type()  # the content type (415) before the lookup (404): docs/API.md, Order of checks
        schedule = schedules.get_schedule(requester(), schedule_id, owner=True)
        data, problems = parse_body(ScheduleCreateSchema(), partial=True)
        return schedules.update(schedule, data, problems)

    @blp.response(204)
    def delete(self, schedule_id):
        """Delete a schedule and its run history (owner)."""
        schedules.delete_schedule(schedules.get_schedule(requester(), schedule_id, owner=True))
        return ""


@blp.route("/workflow/schedules/<uuid:schedule_id>/runs/")
class ScheduleRuns(MethodView):
    @documented(blp, paginated=True)
    @blp.response(200, page_schema(ScheduleRunSchema))
    def get(self, schedule_id):
        """The schedule's fired due times, newest first: started, skipped or failed, and why."""
        schedule = schedules.get_schedule(requester(), schedule_id)
        return paginate(schedules.runs_query(schedule), schedules.present_run)
