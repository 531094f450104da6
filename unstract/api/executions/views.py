"""Reading executions: a workflow's executions, one execution, its files and its logs."""

from __future__ import annotations

import json

from flask import Response, current_app
from flask.views import MethodView

from unstract import errors
from unstract.api import api_blueprint
from unstract.api.common import apply_ordering, documented, load_query, page_schema, paginate
from unstract.auth import requester
from unstract.extensions import db
from unstract.models import Execution, FileExecution
from unstract.policy import get_visible_workflow
from unstract.schemas.execution_input import (
    ExecutionQueryArgsSchema,
    FileExecutionQueryArgsSchema,
    LogQueryArgsSchema,
    ResultsQueryArgsSchema,
)
from unstract.schemas.representations import ExecutionLogSchema, ExecutionSchema, FileExecutionSchema
from unstract.services import execution_queries as queries
from unstract.services import results_export, retries

blp = api_blueprint("executions", __name__, "Executions, file executions and logs")


@blp.route("/workflow/<uuid:workflow_id>/execution/")
class WorkflowExecutions(MethodView):
    @documented(blp, query=ExecutionQueryArgsSchema, paginated=True)
    @blp.response(200, page_schema(ExecutionSchema))
    def get(self, workflow_id):
        """List the executions of a workflow (owners only)."""
        workflow = get_visible_workflow(requester(), workflow_id, owner=True)
        args = load_query(ExecutionQueryArgsSchema())
        query = apply_ordering(queries.executions_query(workflow, args["status"]), args["ordering"],
                               queries.EXECUTION_ORDERING, "-created_at", Execution.id)
        name = workflow.workflow_name
        return paginate(query, lambda execution: queries.present_execution(execution, name),
                        columns=queries.EXECUTION_COLUMNS)


@blp.route("/workflow/execution/<uuid:execution_id>/")
class ExecutionById(MethodView):
    @blp.response(200, ExecutionSchema)
    def get(self, execution_id):
        """Retrieve one execution."""
        execution, workflow = queries.get_visible_execution(requester(), execution_id)
        return queries.present_execution(execution, workflow.workflow_name)


@blp.route("/workflow/execution/<uuid:execution_id>/retry/")
class ExecutionRetry(MethodView):
    @blp.response(202, ExecutionSchema)
    def post(self, execution_id):
        """Run the files of an ended execution that failed or were stopped again, in a new execution
        (`retry_of` names this one); 409 `execution_busy` while it runs, 400 `nothing_to_retry`, 409
        `uploads_expired` once an API source's uploads are no longer kept."""
        execution = retries.retry(requester(), execution_id, current_app.config["UNSTRACT_SETTINGS"])
        return queries.present_execution(execution, execution.workflow.workflow_name)


@blp.route("/workflow/execution/<uuid:execution_id>/files/")
class ExecutionFiles(MethodView):
    @documented(blp, query=FileExecutionQueryArgsSchema, paginated=True)
    @blp.response(200, page_schema(FileExecutionSchema))
    def get(self, execution_id):
        """List the file executions of an execution."""
        execution, _ = queries.get_visible_execution(requester(), execution_id)
        args = load_query(FileExecutionQueryArgsSchema())
        query = apply_ordering(queries.file_executions_query(execution, args["status"]), args["ordering"],
                               queries.FILE_EXECUTION_ORDERING, "file_number", FileExecution.id)
        return paginate(query, queries.present_file_execution, columns=queries.FILE_EXECUTION_LIST_COLUMNS)


@blp.route("/workflow/execution/<uuid:execution_id>/logs/")
class ExecutionLogs(MethodView):
    @documented(blp, query=LogQueryArgsSchema, paginated=True)
    @blp.response(200, page_schema(ExecutionLogSchema))
    def get(self, execution_id):
        """List the log rows of an execution, oldest first."""
        execution, _ = queries.get_visible_execution(requester(), execution_id)
        log_filter = queries.tailable(execution, load_query(LogQueryArgsSchema()))
        return paginate(queries.logs_query(execution, log_filter), queries.present_log, columns=queries.LOG_COLUMNS)


DOWNLOAD_DOC = {"description": "A download (Content-Disposition: attachment)."}


@blp.route("/workflow/execution/<uuid:execution_id>/results/")
class ExecutionResults(MethodView):
    @documented(blp, query=ResultsQueryArgsSchema)
    @blp.doc(responses={"200": {**DOWNLOAD_DOC, "content": {
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        "application/x-ndjson": {"schema": {"type": "string"}},
        "text/csv": {"schema": {"type": "string"}}}}})
    def get(self, execution_id):
        """Download the results of every file that ended COMPLETED or ERROR, in file order, as JSON, JSON
        Lines or CSV (streamed)."""
        execution, workflow = queries.get_visible_execution(requester(), execution_id)
        fmt = load_query(ResultsQueryArgsSchema())["format"]
        body = results_export.stream(db.engine, execution.id, fmt)
        name = results_export.download_name(workflow.workflow_name, execution, fmt)
        return Response(body, content_type=results_export.FORMATS[fmt],
                        headers={"Content-Disposition": results_export.content_disposition(name)})


@blp.route("/workflow/execution/<uuid:execution_id>/files/<uuid:file_execution_id>/result/")
class FileExecutionResult(MethodView):
    @blp.doc(responses={"200": {**DOWNLOAD_DOC, "content": {"application/json": {"schema": {}}}}})
    def get(self, execution_id, file_execution_id):
        """Download one file's result as JSON (null while it has none)."""
        execution, _ = queries.get_visible_execution(requester(), execution_id)
        fe = results_export.file_result(execution.id, file_execution_id)
        if fe is None:
            raise errors.NotFound()
        body = json.dumps(fe.result, ensure_ascii=False, indent=2) + "\n"
        name = f"{fe.file_name}-{fe.id}.json"
        return Response(body, content_type="application/json",
                        headers={"Content-Disposition": results_export.content_disposition(name)})
