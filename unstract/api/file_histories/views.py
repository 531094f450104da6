"""A workflow's file history: list, one row, delete one, bulk clear (docs/EXECUTION.md, File history)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from unstract.api import api_blueprint
from unstract.api.common import (
    apply_ordering,
    documented,
    load_body,
    load_query,
    page_schema,
    paginate,
    require_json_content_type,
)
from unstract.api.file_histories.schemas import FileHistoryClearResultSchema
from unstract.auth import requester
from unstract.models import FileHistory, Workflow
from unstract.policy import get_visible_workflow
from unstract.schemas.file_history_input import FileHistoryClearSchema, FileHistoryQueryArgsSchema
from unstract.schemas.representations import FileHistorySchema
from unstract.services import file_history, file_outcomes

blp = api_blueprint("file_histories", __name__, "File history of workflows")


def _max_execution_count(workflow: Workflow) -> int:
    return file_outcomes.max_execution_count(workflow, current_app.config["UNSTRACT_SETTINGS"].max_file_execution_count)


@blp.route("/workflow/<uuid:workflow_id>/file-histories/")
class FileHistories(MethodView):
    @documented(blp, query=FileHistoryQueryArgsSchema, paginated=True)
    @blp.response(200, page_schema(FileHistorySchema))
    def get(self, workflow_id):
        """List the file history of a workflow."""
        workflow = get_visible_workflow(requester(), workflow_id)
        args = load_query(FileHistoryQueryArgsSchema())
        query = apply_ordering(file_history.histories_query(workflow, args["filter"]), args["ordering"],
                               file_history.HISTORY_ORDERING, "-created_at", FileHistory.id)
        limit = _max_execution_count(workflow)
        return paginate(query, lambda row: file_history.present_history(row, limit, listed=True),
                        columns=file_history.HISTORY_LIST_COLUMNS)


@blp.route("/workflow/<uuid:workflow_id>/file-histories/<uuid:history_id>/")
class FileHistoryById(MethodView):
    @blp.response(200, FileHistorySchema)
    def get(self, workflow_id, history_id):
        """Retrieve one file history row."""
        workflow = get_visible_workflow(requester(), workflow_id)
        row = file_history.get_history(workflow, history_id)
        return file_history.present_history(row, _max_execution_count(workflow))

    @blp.response(204)
    def delete(self, workflow_id, history_id):
        """Delete one file history row; the file becomes eligible again (owners only)."""
        who = requester()
        workflow = get_visible_workflow(who, workflow_id)
        file_history.delete_history(who, workflow, history_id)
        return ""


@blp.route("/workflow/<uuid:workflow_id>/file-histories/clear/")
class FileHistoriesClear(MethodView):
    @documented(blp, body="FileHistoryClearBody")
    @blp.response(200, FileHistoryClearResultSchema)
    def post(self, workflow_id):
        """Delete the file history rows matching the filters, in batches (owners only)."""
        require_json_content_type()
        workflow = get_visible_workflow(requester(), workflow_id, owner=True)
        args = load_body(FileHistoryClearSchema())
        count = file_history.clear_histories(workflow, args["filter"], dry_run=args["dry_run"])
        return file_history.present_clear(count, dry_run=args["dry_run"])
