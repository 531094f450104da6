"""Reading executions: a workflow's executions, one execution, its files and its logs."""

from __future__ import annotations

from flask.views import MethodView

from unstract.api import api_blueprint
from unstract.api.common import apply_ordering, documented, load_query, page_schema, paginate
from unstract.auth import requester
from unstract.models import Execution, FileExecution
from unstract.policy import get_visible_workflow
from unstract.schemas.execution_input import ExecutionQueryArgsSchema, FileExecutionQueryArgsSchema, LogQueryArgsSchema
from unstract.schemas.representations import ExecutionLogSchema, ExecutionSchema, FileExecutionSchema
from unstract.services import execution_queries as queries

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
