"""POST workflow/execute/ (docs/EXECUTION.md, The execute call): JSON or multipart; one call runs, waits and answers."""

from __future__ import annotations

import time

from flask import current_app, request
from flask.views import MethodView

from unstract.api import api_blueprint
from unstract.api.common import documented, json_object, unsupported_media_type
from unstract.api.executions.execute_schemas import ExecuteFormSchema, ExecuteResponseSchema, ExecuteSchema
from unstract.auth import requester
from unstract.schemas.parsing import load_schema
from unstract.services.executions import ExecuteCommand, execute
from unstract.services.idempotency import check_key
from unstract.services.uploads import UploadPart

blp = api_blueprint("execute", __name__, "Execute workflows")


def _command(received_at: float) -> ExecuteCommand:
    """Parse the body by content type; JSON bodies must not carry files."""
    if request.mimetype == "multipart/form-data":
        data = load_schema(ExecuteFormSchema(), request.form.to_dict(flat=True))
        parts = [UploadPart.of(f) for f in request.files.getlist("files")]
    elif request.mimetype == "application/json" or not request.get_data(cache=True):
        data, parts = load_schema(ExecuteSchema(), json_object()), []
    else:
        raise unsupported_media_type(request.content_type or "")
    return ExecuteCommand(workflow_id=data["workflow_id"], execution_id=data["execution_id"],
                          action=data["execution_action"], timeout=data["timeout"],
                          use_file_history=data["use_file_history"], parts=parts, received_at=received_at,
                          idempotency_key=check_key(request.headers.get("Idempotency-Key")))


@blp.route("/workflow/execute/")
class WorkflowExecute(MethodView):
    @documented(blp, body="ExecuteBody", form="ExecuteFormBody")
    @blp.response(200, ExecuteResponseSchema, description="The execution is terminal")
    @blp.alt_response(202, schema=ExecuteResponseSchema, description="Still running or awaiting an action")
    def post(self):
        """Execute a workflow, or act on a step execution, and wait up to `timeout` seconds."""
        received_at = time.monotonic()
        command = _command(received_at)
        result = execute(requester(), command, current_app.config["UNSTRACT_SETTINGS"])
        return result.response, 200 if result.terminal else 202
