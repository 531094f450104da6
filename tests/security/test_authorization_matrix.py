"""docs/API.md's permission table over every API route x every kind of requester, checked against the routing table.

`MATRIX` has one row per (rule, method) of the URL map under the org base; a route added without a row
fails `test_every_api_route_has_exactly_one_matrix_row`. Each row names what the table requires and how to
make a request that succeeds for a requester who has that right; path ids are filled in from the rule's
own variables with the ids of real objects (tests/security/scene.py). The rows live in tests/security/matrix.py.
"""

from __future__ import annotations

import pytest

from tests.security.matrix import MATRIX, STATE_CHANGING, fill, request_for
from tests.security.scene import build_scene
from tests.support import ApiClient
from unstract.services import accounts

BASE = "/api/v1/unstract/<org_id>/"
ROLES = ("owner", "viewer", "org_shared", "unrelated", "admin", "other_org", "anonymous", "read_key")
# Who is refused what, by requirement; a role not named here succeeds (docs/API.md, Visibility and ownership).
REFUSED = {
    "member": {},
    "visible": {"unrelated": 404},
    "owner": {"viewer": 403, "org_shared": 403, "unrelated": 404},
    "creator": {"viewer": 403, "org_shared": 403, "unrelated": 403},
    "admin": {"owner": 403, "viewer": 403, "org_shared": 403, "unrelated": 403},
}

ERRORS = {
    401: {"code": "not_authenticated", "detail": "Authentication credentials were not provided.", "attr": None},
    403: {"code": "permission_denied", "detail": "You do not have permission to perform this action.",
          "attr": None},
    404: {"code": "not_found", "detail": "Not found.", "attr": None},
}


def api_rules(app) -> set[tuple[str, str]]:
    """(rule relative to the org base, method) for every API route, HEAD and OPTIONS left out."""
    return {(rule.rule[len(BASE):], method) for rule in app.url_map.iter_rules() if rule.rule.startswith(BASE)
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def expected_status(requirement: str, success: int, role: str, method: str, changes: bool = False) -> int:
    if role == "anonymous":
        return 401
    if role == "other_org":
        return 404
    if role == "read_key":
        return success if method == "GET" and not changes else 403
    return REFUSED[requirement].get(role, success)


def expected_error(status: int, role: str, method: str, changes: bool = False) -> dict | None:
    if status == 403 and role == "read_key":
        on_route = " on this route, which changes data" if changes else ""
        return {"code": "api_key_permission", "attr": None,
                "detail": f"API key with permission 'read' does not allow {method}{on_route}."}
    return ERRORS.get(status)


def caller(world, client, role: str) -> ApiClient:
    """Every caller aims at org acme; the outsider's key belongs to org other."""
    if role == "anonymous":
        return ApiClient(client, "acme")
    if role == "read_key":
        return world.api("owner", "read")
    names = {"org_shared": "member", "unrelated": "member", "other_org": "outsider"}
    return world.api(names.get(role, role), org_id="acme")


@pytest.fixture
def co_owner(world):
    return accounts.add_user("co-owner@acme.test", "password123", "acme", "member")


def test_every_api_route_has_exactly_one_matrix_row(app):
    routes = api_rules(app)
    assert routes - set(MATRIX) == set(), "routes without a row in MATRIX"
    assert set(MATRIX) - routes == set(), "rows of MATRIX for routes that no longer exist"


def test_the_state_changing_rows_are_the_views_marked_changes_state(app):
    """A safe-method view marked `changes_state` needs a write tier and CSRF; the matrix must know which."""
    marked = set()
    for rule in app.url_map.iter_rules():
        view_class = getattr(app.view_functions[rule.endpoint], "view_class", None)
        if rule.rule.startswith(BASE) and view_class is not None:
            marked |= {(rule.rule[len(BASE):], method) for method in rule.methods - {"HEAD", "OPTIONS"}
                       if getattr(getattr(view_class, method.lower(), None), "changes_state", False)}
    assert marked == STATE_CHANGING


@pytest.mark.slow
@pytest.mark.parametrize(("rule", "method"), list(MATRIX), ids=[f"{m} {r}" for r, m in MATRIX])
def test_permission_table(world, client, storage_root, co_owner, rule, method):
    requirement, success, query, body = MATRIX[(rule, method)]
    extra = {"member": str(world.users["member"].id)}
    for role in ROLES:
        scene = build_scene(world, "acme", "owner", storage_root, viewers=("viewer",), co_owner=co_owner)
        path, values = request_for(rule, query, scene, role, extra)
        response = caller(world, client, role).request(method, path, json=fill(body, values))
        changes = (rule, method) in STATE_CHANGING
        status = expected_status(requirement, success, role, method, changes)
        assert response.status_code == status, (role, response.get_json())
        error = expected_error(status, role, method, changes)
        if error is not None:
            assert response.json == {"type": "client_error", "errors": [error]}, role


def test_admin_counts_as_owner_without_any_membership(world, storage_root):
    scene = build_scene(world, "acme", "owner", storage_root)
    admin = world.api("admin")
    workflow_id = scene["private"]["workflow_id"]
    assert admin.get(f"workflow/{workflow_id}/").json["is_owner"] is True
    assert admin.get(f"workflow/{workflow_id}/can-update/").json["can_update"] is True


def test_tier_rule_read_write_changes_but_cannot_delete(world, storage_root):
    scene = build_scene(world, "acme", "owner", storage_root)
    api = world.api("owner", "read_write")
    ids = scene["private"]
    assert api.patch(f"tool_instance/{ids['instance_id']}/", json={"step": 1}).status_code == 200
    assert api.post("workflow/execute/", json={"workflow_id": ids["workflow_id"], "timeout": 0}).status_code == 202
    for path in (f"tool_instance/{ids['instance_id']}/", f"connector/{scene['connector_id']}/",
                 f"workflow/{ids['workflow_id']}/file-histories/{ids['history_id']}/"):
        response = api.delete(path)
        assert response.status_code == 403
        assert response.json["errors"][0]["detail"] == "API key with permission 'read_write' does not allow DELETE."


def test_the_tier_is_checked_before_the_object_exists(world):
    """A read key gets 403 for an unknown id too: tier is step 4, lookup step 8 (docs/API.md, Order of checks)."""
    response = world.api("owner", "read").delete("workflow/00000000-0000-4000-8000-000000000000/")
    assert response.status_code == 403
    assert response.json["errors"][0]["code"] == "api_key_permission"


def test_an_idempotency_key_replay_is_refused_to_who_may_not_see_the_workflow(world, storage_root):
    """The workflow lookup comes before the Idempotency-Key: a replay by a member who cannot see the
    workflow is 404, as the same call without the key, and never names the first call's execution."""
    scene = build_scene(world, "acme", "owner", storage_root)
    body = {"workflow_id": scene["private"]["workflow_id"], "timeout": 0}
    first = world.api("owner").post("workflow/execute/", json=body, headers={"Idempotency-Key": "order-1"})
    assert first.status_code == 202, first.json
    member = world.api("member")
    for headers in ({"Idempotency-Key": "order-1"}, {}):
        replay = member.post("workflow/execute/", json=body, headers=headers)
        assert replay.status_code == 404, replay.json
        assert replay.json == {"type": "client_error", "errors": [ERRORS[404]]}
    again = world.api("owner").post("workflow/execute/", json=body, headers={"Idempotency-Key": "order-1"})
    assert again.json["execution_id"] == first.json["execution_id"]
