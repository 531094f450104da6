"""The API permission table: one row per (rule, method) under the org base, and how to fill a row's request.

Rows are checked against the routing table by tests/security/test_authorization_matrix.py; the org
isolation, bad input and OpenAPI fuzz tests walk the same rows.
"""

from __future__ import annotations

import re

# (rule under the base, method) -> (requirement, success status, query, body). Placeholders in the
# query and body are scene ids: {workflow_id}, {instance_id}, {history_id}, {user_id}, {member}, {n}.
MATRIX = {
    ("workflow/", "GET"): ("member", 200, "", None),
    ("workflow/", "POST"): ("member", 201, "", {"workflow_name": "Created {n}"}),
    ("workflow/<uuid:workflow_id>/", "GET"): ("visible", 200, "", None),
    ("workflow/<uuid:workflow_id>/", "PUT"): ("owner", 200, "", {"workflow_name": "Renamed {n}"}),
    ("workflow/<uuid:workflow_id>/", "PATCH"): ("owner", 200, "", {"description": "changed"}),
    ("workflow/<uuid:workflow_id>/", "DELETE"): ("owner", 204, "", None),
    ("workflow/active/<uuid:workflow_id>/", "PUT"): ("owner", 200, "", None),
    ("workflow/<uuid:workflow_id>/can-update/", "GET"): ("visible", 200, "", None),
    ("workflow/<uuid:workflow_id>/clear-file-marker/", "GET"): ("owner", 200, "", None),
    ("workflow/<uuid:workflow_id>/clear-file-marker/", "POST"): ("owner", 200, "", None),
    ("workflow/schema/", "GET"): ("member", 200, "?type=dest&entity=db", None),
    ("workflow/<uuid:workflow_id>/users/", "GET"): ("visible", 200, "", None),
    ("workflow/<uuid:workflow_id>/owners/", "POST"): ("owner", 200, "", {"user_id": "{member}"}),
    ("workflow/<uuid:workflow_id>/owners/<uuid:user_id>/", "DELETE"): ("owner", 204, "", None),
    ("workflow/<uuid:workflow_id>/execution/", "GET"): ("owner", 200, "", None),
    ("workflow/execution/<uuid:execution_id>/", "GET"): ("visible", 200, "", None),
    ("workflow/execution/<uuid:execution_id>/files/", "GET"): ("visible", 200, "", None),
    ("workflow/execution/<uuid:execution_id>/logs/", "GET"): ("visible", 200, "", None),
    ("workflow/execution/<uuid:execution_id>/results/", "GET"): ("visible", 200, "?format=csv", None),
    ("workflow/execution/<uuid:execution_id>/files/<uuid:file_execution_id>/result/", "GET"):
        ("visible", 200, "", None),
    # The scene's execution has no failed file: a caller who may retry gets nothing_to_retry.
    ("workflow/execution/<uuid:execution_id>/retry/", "POST"): ("visible", 400, "", None),
    ("workflow/execute/", "POST"): ("visible", 202, "", {"workflow_id": "{workflow_id}", "timeout": 0}),
    ("workflow/<uuid:workflow_id>/file-histories/", "GET"): ("visible", 200, "", None),
    ("workflow/<uuid:workflow_id>/file-histories/<uuid:history_id>/", "GET"): ("visible", 200, "", None),
    ("workflow/<uuid:workflow_id>/file-histories/<uuid:history_id>/", "DELETE"): ("owner", 204, "", None),
    ("workflow/<uuid:workflow_id>/file-histories/clear/", "POST"): ("owner", 200, "", {"ids": ["{history_id}"]}),
    ("workflow/<uuid:workflow_id>/endpoint/", "GET"): ("visible", 200, "", None),
    ("workflow/endpoint/<uuid:endpoint_id>/", "GET"): ("visible", 200, "", None),
    ("workflow/endpoint/<uuid:endpoint_id>/", "PATCH"): ("owner", 200, "", {"connection_type": "FILESYSTEM"}),
    ("workflow/<uuid:workflow_id>/schedules/", "GET"): ("visible", 200, "", None),
    ("workflow/<uuid:workflow_id>/schedules/", "POST"): ("owner", 201, "", {"cron": "0 6 * * 1-5"}),
    ("workflow/schedules/<uuid:schedule_id>/", "GET"): ("visible", 200, "", None),
    ("workflow/schedules/<uuid:schedule_id>/", "PATCH"): ("owner", 200, "", {"description": "changed"}),
    ("workflow/schedules/<uuid:schedule_id>/", "DELETE"): ("owner", 204, "", None),
    ("workflow/schedules/<uuid:schedule_id>/runs/", "GET"): ("visible", 200, "", None),
    ("connector/", "GET"): ("member", 200, "", None),
    ("connector/", "POST"): ("member", 201, "", {"connector_name": "New {n}", "connector_id": "local_storage",
                                                 "connector_metadata": {"path": "{folder}"}}),
    ("connector/types/", "GET"): ("member", 200, "", None),
    ("connector/<uuid:connector_id>/", "GET"): ("member", 200, "", None),
    ("connector/<uuid:connector_id>/", "PATCH"): ("creator", 200, "", {"connector_name": "Renamed {n}"}),
    ("connector/<uuid:connector_id>/", "DELETE"): ("creator", 204, "", None),
    ("tool/", "GET"): ("member", 200, "", None),
    ("tool_instance/", "GET"): ("visible", 200, "?workflow_id={workflow_id}", None),
    ("tool_instance/", "POST"): ("owner", 201, "", {"workflow_id": "{workflow_id}", "tool_id": "text_extractor"}),
    ("tool_instance/<uuid:instance_id>/", "GET"): ("visible", 200, "", None),
    ("tool_instance/<uuid:instance_id>/", "PATCH"): ("owner", 200, "", {"step": 1}),
    ("tool_instance/<uuid:instance_id>/", "DELETE"): ("owner", 204, "", None),
    ("member/", "GET"): ("member", 200, "", None),
    ("adapter/", "GET"): ("member", 200, "", None),
    ("usage/", "GET"): ("visible", 200, "?from=2026-01-01&to=2026-01-31&workflow={workflow_id}", None),
    ("adapter/", "POST"): ("admin", 201, "", {"name": "New {n}", "config": {
        "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-matrix-key", "model": "m"}}),
    ("adapter/<uuid:adapter_id>/", "GET"): ("member", 200, "", None),
    ("adapter/<uuid:adapter_id>/", "PATCH"): ("admin", 200, "", {"name": "Renamed {n}"}),
    ("adapter/<uuid:adapter_id>/", "DELETE"): ("admin", 204, "", None),
    ("adapter/<uuid:adapter_id>/test/", "POST"): ("admin", 200, "", None),
    ("api-deployment/", "GET"): ("member", 200, "", None),
    ("api-deployment/", "POST"): ("owner", 201, "", {"display_name": "New {n}", "api_name": "new{n}",
                                                     "workflow": "{api_workflow_id}"}),
    ("api/deployment/", "GET"): ("member", 200, "", None),
    ("api-deployment/<uuid:deployment_id>/", "GET"): ("visible", 200, "", None),
    ("api-deployment/<uuid:deployment_id>/", "PATCH"): ("owner", 200, "", {"description": "changed"}),
    ("api-deployment/<uuid:deployment_id>/", "DELETE"): ("owner", 204, "", None),
    ("api-deployment/<uuid:deployment_id>/keys/", "GET"): ("owner", 200, "", None),
    ("api-deployment/<uuid:deployment_id>/keys/", "POST"): ("owner", 201, "", {"description": "ci"}),
    ("api-deployment/<uuid:deployment_id>/keys/<uuid:key_id>/", "PATCH"): ("owner", 200, "", {"is_active": False}),
    ("api-deployment/<uuid:deployment_id>/keys/<uuid:key_id>/", "DELETE"): ("owner", 204, "", None),
    ("workflow/<uuid:workflow_id>/notifications/", "GET"): ("visible", 200, "", None),
    ("workflow/<uuid:workflow_id>/notifications/", "POST"): ("owner", 201, "", {"url": "https://93.184.215.14/h"}),
    ("workflow/notifications/<uuid:notification_id>/", "GET"): ("visible", 200, "", None),
    ("workflow/notifications/<uuid:notification_id>/", "PATCH"): ("owner", 200, "", {"max_retries": 3}),
    ("workflow/notifications/<uuid:notification_id>/", "DELETE"): ("owner", 204, "", None),
    ("workflow/notifications/<uuid:notification_id>/deliveries/", "GET"): ("visible", 200, "", None),
    ("workflow/notifications/<uuid:notification_id>/deliveries/<uuid:delivery_id>/redeliver/", "POST"): (
        "owner", 202, "", None),
}
# GET rows whose view is marked `changes_state` (unstract.auth): they need what a POST needs.
STATE_CHANGING = {("workflow/<uuid:workflow_id>/clear-file-marker/", "GET")}
RULE_VARIABLE = re.compile(r"<uuid:(\w+)>")


def fill(template, values: dict):
    """Format every string of a nested body template with the scene's ids."""
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(item, values) for item in template]
    return template.format(**values) if isinstance(template, str) else template


def request_for(rule: str, query: str, scene: dict, role: str, extra: dict) -> tuple[str, dict]:
    """The concrete path and the placeholder values for one role (org-shared member: the shared workflow)."""
    ids = scene["shared" if role == "org_shared" else "private"]
    values = {**ids, "connector_id": scene["connector_id"], "adapter_id": scene["adapter_id"],
              "user_id": scene["user_id"],
              "folder": scene["folder"], "n": scene["serial"], **extra}
    path = RULE_VARIABLE.sub(lambda match: values[match.group(1)], rule)
    return path + query.format(**values), values
