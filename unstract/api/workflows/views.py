"""Workflow routes: CRUD, active toggle, can-update, file markers, schema, sharing, co-owners."""

from __future__ import annotations

import uuid

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
    parse_body,
    require_json_content_type,
)
from unstract.api.workflows.schemas import CanUpdateSchema, ClearFileMarkerSchema, WorkflowUsersSchema
from unstract.auth import changes_state, requester
from unstract.policy import get_visible_workflow
from unstract.schemas.representations import WorkflowSchema
from unstract.schemas.workflow_input import (
    OwnerCreateSchema,
    SettingsSchemaQueryArgsSchema,
    WorkflowCreateSchema,
    WorkflowQueryArgsSchema,
    WorkflowWriteSchema,
)
from unstract.services import sharing, workflows

blp = api_blueprint("workflows", __name__, "Workflows")
CLEARED = "File marker cleared successfully."


@blp.route("/workflow/")
class Workflows(MethodView):
    @documented(blp, query=WorkflowQueryArgsSchema, paginated=True)
    @blp.response(200, page_schema(WorkflowSchema))
    def get(self):
        """List the workflows visible to the requester."""
        who = requester()
        args = load_query(WorkflowQueryArgsSchema())
        query = workflows.list_query(who, workflow_name=args["workflow_name"], search=args["search"],
                                     is_active=args["is_active"])
        query = apply_ordering(query, args["ordering"], workflows.ORDERING, workflows.DEFAULT_ORDERING,
                               workflows.PRIMARY_KEY)
        return paginate(query, present_rows=lambda page: workflows.present_page(page, who),
                        columns=workflows.LIST_COLUMNS)

    @documented(blp, body=WorkflowCreateSchema)
    @blp.response(201, WorkflowSchema)
    def post(self):
        """Create a workflow owned by the requester."""
        require_json_content_type()
        who = requester()
        data, field_errors = parse_body(WorkflowCreateSchema())
        return workflows.create(who, data, field_errors)


@blp.route("/workflow/<uuid:workflow_id>/")
class WorkflowById(MethodView):
    @blp.response(200, WorkflowSchema)
    def get(self, workflow_id: uuid.UUID):
        """Retrieve a workflow."""
        who = requester()
        return workflows.present_one(get_visible_workflow(who, workflow_id).id, who)

    @documented(blp, body=WorkflowWriteSchema)
    @blp.response(200, WorkflowSchema)
    def put(self, workflow_id: uuid.UUID):
        """Update a workflow (workflow_name required)."""
        return self._update(workflow_id, partial=False)

    @documented(blp, body=WorkflowWriteSchema)
    @blp.response(200, WorkflowSchema)
    def patch(self, workflow_id: uuid.UUID):
        """Update some fields of a workflow."""
        return self._update(workflow_id, partial=True)

    @blp.response(204)
    def delete(self, workflow_id: uuid.UUID):
        """Delete a workflow with its runs, history and memberships."""
        workflow = get_visible_workflow(requester(), workflow_id, owner=True)
        workflows.delete_workflow(workflow, current_app.config["UNSTRACT_SETTINGS"].data_dir)
        return ""

    @staticmethod
    def _update(workflow_id: uuid.UUID, *, partial: bool) -> dict:
        require_json_content_type()
        who = requester()
        workflow = get_visible_workflow(who, workflow_id, owner=True)
        data, field_errors = parse_body(WorkflowWriteSchema(), partial=partial)
        return workflows.update(who, workflow, data, field_errors)


@blp.route("/workflow/active/<uuid:workflow_id>/")
class WorkflowActive(MethodView):
    @blp.response(200, WorkflowSchema)
    def put(self, workflow_id: uuid.UUID):
        """Toggle the active state of a workflow."""
        who = requester()
        return workflows.toggle_active(who, get_visible_workflow(who, workflow_id, owner=True))


@blp.route("/workflow/<uuid:workflow_id>/can-update/")
class WorkflowCanUpdate(MethodView):
    @blp.response(200, CanUpdateSchema)
    def get(self, workflow_id: uuid.UUID):
        """Tell whether the requester may update the workflow."""
        who = requester()
        return workflows.can_update(who, get_visible_workflow(who, workflow_id))


@blp.route("/workflow/<uuid:workflow_id>/clear-file-marker/")
class WorkflowClearFileMarker(MethodView):
    @changes_state
    @blp.response(200, ClearFileMarkerSchema)
    def get(self, workflow_id: uuid.UUID):
        """Delete the workflow's file history and reservations. Kept for compatibility; it is a write, so it
        needs what POST needs (an API key of tier read_write or above; with a session, the X-CSRFToken
        header)."""
        return self._clear(workflow_id)

    @blp.response(200, ClearFileMarkerSchema)
    def post(self, workflow_id: uuid.UUID):
        """Delete the workflow's file history and reservations (same as GET)."""
        return self._clear(workflow_id)

    @staticmethod
    def _clear(workflow_id: uuid.UUID) -> dict:
        workflow = get_visible_workflow(requester(), workflow_id, owner=True)
        return {"message": CLEARED, "deleted_count": workflows.clear_file_marker(workflow)}


@blp.route("/workflow/schema/")
class WorkflowSettingsSchema(MethodView):
    @documented(blp, query=SettingsSchemaQueryArgsSchema)
    @blp.response(200)
    def get(self):
        """The JSON Schema of source or destination settings."""
        args = load_query(SettingsSchemaQueryArgsSchema())
        return workflows.settings_schema(args["type"], args["entity"])


@blp.route("/workflow/<uuid:workflow_id>/users/")
class WorkflowUsers(MethodView):
    @blp.response(200, WorkflowUsersSchema)
    def get(self, workflow_id: uuid.UUID):
        """Sharing details: viewers, co-owners and creator."""
        return sharing.sharing(get_visible_workflow(requester(), workflow_id))


@blp.route("/workflow/<uuid:workflow_id>/owners/")
class WorkflowOwners(MethodView):
    @documented(blp, body=OwnerCreateSchema)
    @blp.response(200, WorkflowUsersSchema)
    def post(self, workflow_id: uuid.UUID):
        """Add a co-owner (a viewer is promoted)."""
        require_json_content_type()
        workflow = get_visible_workflow(requester(), workflow_id, owner=True)
        args = load_body(OwnerCreateSchema())
        return sharing.add_owner(workflow, args["user_id"])


@blp.route("/workflow/<uuid:workflow_id>/owners/<uuid:user_id>/")
class WorkflowOwnerById(MethodView):
    @blp.response(204)
    def delete(self, workflow_id: uuid.UUID, user_id: uuid.UUID):
        """Remove a co-owner (never the last one)."""
        sharing.remove_owner(get_visible_workflow(requester(), workflow_id, owner=True), user_id)
        return ""
