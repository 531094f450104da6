"""Managing API deployments and their keys, and the platform-key list the official client reads."""

from __future__ import annotations

import uuid

from flask.views import MethodView

from unstract.api import api_blueprint
from unstract.api.common import (
    apply_ordering,
    documented,
    load_body,
    load_query,
    paginate,
    parse_body,
    require_json_content_type,
)
from unstract.api.deployments.schemas import (
    DeploymentQueryArgsSchema,
    DeploymentWriteSchema,
    KeyChangeSchema,
    KeyCreateSchema,
)
from unstract.auth import requester
from unstract.services import deployments

blp = api_blueprint("api_deployments", __name__, "API deployments")


def _list() -> dict:
    who = requester()
    args = load_query(DeploymentQueryArgsSchema())
    query = deployments.list_query(who, api_name=args["api_name"], workflow=args["workflow"], search=args["search"])
    query = apply_ordering(query, args["ordering"], deployments.ORDERING, deployments.DEFAULT_ORDERING,
                           deployments.PRIMARY_KEY)
    return paginate(query, present_rows=lambda page: deployments.present_page(page, who))


@blp.route("/api-deployment/")
class Deployments(MethodView):
    @documented(blp, query=DeploymentQueryArgsSchema, paginated=True)
    @blp.response(200)
    def get(self):
        """List the API deployments of workflows the requester sees."""
        return _list()

    @documented(blp, body=DeploymentWriteSchema)
    @blp.response(201)
    def post(self):
        """Publish an API workflow (source and destination API) as a deployment; owner rights needed."""
        require_json_content_type()
        data, field_errors = parse_body(DeploymentWriteSchema())
        return deployments.create(requester(), data, field_errors)


@blp.route("/api/deployment/")
class PlatformDeployments(MethodView):
    @documented(blp, query=DeploymentQueryArgsSchema, paginated=True)
    @blp.response(200)
    def get(self):
        """The same list, at the path unstract-client's PlatformKeyClient reads."""
        return _list()


@blp.route("/api-deployment/<uuid:deployment_id>/")
class DeploymentById(MethodView):
    @blp.response(200)
    def get(self, deployment_id: uuid.UUID):
        """Retrieve a deployment."""
        who = requester()
        return deployments.present_one(deployments.get_visible(who, deployment_id), who)

    @documented(blp, body=DeploymentWriteSchema)
    @blp.response(200)
    def patch(self, deployment_id: uuid.UUID):
        """Change some fields of a deployment; owner rights on its workflow needed."""
        require_json_content_type()
        who = requester()
        deployment = deployments.get_visible(who, deployment_id, owner=True)
        data, field_errors = parse_body(DeploymentWriteSchema(), partial=True)
        return deployments.update(who, deployment, data, field_errors)

    @blp.response(204)
    def delete(self, deployment_id: uuid.UUID):
        """Delete a deployment and its keys; its executions stay."""
        deployments.delete(deployments.get_visible(requester(), deployment_id, owner=True))
        return ""


@blp.route("/api-deployment/<uuid:deployment_id>/keys/")
class DeploymentKeys(MethodView):
    @documented(blp, paginated=True)
    @blp.response(200)
    def get(self, deployment_id: uuid.UUID):
        """The deployment's keys, newest first (never their plaintext)."""
        deployment = deployments.get_visible(requester(), deployment_id, owner=True)
        return paginate(deployments.keys_query(deployment), deployments.present_key)

    @documented(blp, body=KeyCreateSchema)
    @blp.response(201)
    def post(self, deployment_id: uuid.UUID):
        """Create a key; its plaintext `key` is in this response only."""
        require_json_content_type()
        who = requester()
        deployment = deployments.get_visible(who, deployment_id, owner=True)
        args = load_body(KeyCreateSchema())
        plaintext, key = deployments.create_key(who, deployment, args["description"])
        return deployments.present_key(key, plaintext)


@blp.route("/api-deployment/<uuid:deployment_id>/keys/<uuid:key_id>/")
class DeploymentKeyById(MethodView):
    @documented(blp, body=KeyChangeSchema)
    @blp.response(200)
    def patch(self, deployment_id: uuid.UUID, key_id: uuid.UUID):
        """Activate or revoke a key."""
        require_json_content_type()
        deployment = deployments.get_visible(requester(), deployment_id, owner=True)
        args = load_body(KeyChangeSchema())
        return deployments.present_key(deployments.set_key_active(deployments.get_key(deployment, key_id),
                                                                  args["is_active"]))

    @blp.response(204)
    def delete(self, deployment_id: uuid.UUID, key_id: uuid.UUID):
        """Delete a key."""
        deployment = deployments.get_visible(requester(), deployment_id, owner=True)
        deployments.delete_key(deployments.get_key(deployment, key_id))
        return ""
