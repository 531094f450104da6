"""Authorization matrix of the workflow-management routes (docs/API.md, Authentication to Order of checks)."""

from __future__ import annotations

import itertools

import pytest

from tests.support import ApiClient

# Who asks, and which workflow they ask about: the owner's private workflow (shared with the viewer),
# or the owner's org-shared workflow for the org-shared member.
ROLES = ("owner", "viewer", "org_shared_member", "unrelated_member", "admin", "other_org", "anonymous",
         "read_key")
ERRORS = {
    401: {"code": "not_authenticated", "detail": "Authentication credentials were not provided.",
          "attr": None},
    404: {"code": "not_found", "detail": "Not found.", "attr": None},
}
PERMISSION_DENIED = {"code": "permission_denied", "attr": None,
                     "detail": "You do not have permission to perform this action."}

VISIBLE = (200, 200, 200, 404, 200, 404, 401, 200)
MEMBER_READ = (200, 200, 200, 200, 200, 404, 401, 200)
OWNER_WRITE = (200, 403, 403, 404, 200, 404, 401, 403)
OWNER_DELETE = (204, 403, 403, 404, 204, 404, 401, 403)
# method, path, body, expected status per role (ROLES order)
MATRIX = {
    "list": ("GET", "workflow/", None, MEMBER_READ),
    "create": ("POST", "workflow/", {"workflow_name": "Created {n}"},
               (201, 201, 201, 201, 201, 404, 401, 403)),
    "retrieve": ("GET", "workflow/{id}/", None, VISIBLE),
    "put": ("PUT", "workflow/{id}/", {"workflow_name": "Renamed {n}"}, OWNER_WRITE),
    "patch": ("PATCH", "workflow/{id}/", {"description": "changed"}, OWNER_WRITE),
    "delete": ("DELETE", "workflow/{id}/", None, OWNER_DELETE),
    "toggle_active": ("PUT", "workflow/active/{id}/", None, OWNER_WRITE),
    "can_update": ("GET", "workflow/{id}/can-update/", None, VISIBLE),
    "clear_file_marker_get": ("GET", "workflow/{id}/clear-file-marker/", None, OWNER_WRITE),
    "clear_file_marker_post": ("POST", "workflow/{id}/clear-file-marker/", None, OWNER_WRITE),
    "schema": ("GET", "workflow/schema/?type=dest&entity=db", None, MEMBER_READ),
    "users": ("GET", "workflow/{id}/users/", None, VISIBLE),
    "add_owner": ("POST", "workflow/{id}/owners/", {"user_id": "{member}"}, OWNER_WRITE),
    "remove_owner": ("DELETE", "workflow/{id}/owners/{admin}/", None, OWNER_DELETE),
}


def client_for(world, app, role: str) -> ApiClient:
    if role == "anonymous":
        return ApiClient(app.test_client(), "acme")
    if role == "read_key":
        return world.api("owner", "read")
    aliases = {"org_shared_member": "member", "unrelated_member": "member", "other_org": "outsider"}
    return world.api(aliases.get(role, role), org_id="acme")


def setup_workflows(world, serial: int) -> dict:
    """A private workflow shared with the viewer and an org-shared one; admin is a co-owner of both."""
    owner = world.api("owner")
    ids = {}
    for kind, shared in (("private", False), ("public", True)):
        response = owner.post("workflow/", json={"workflow_name": f"{kind} {serial}", "shared_to_org": shared,
                                                 "shared_users": [str(world.users["viewer"].id)]})
        ids[kind] = response.json["id"]
        assert owner.post(f"workflow/{ids[kind]}/owners/",
                          json={"user_id": str(world.users["admin"].id)}).status_code == 200
    return ids


def fill(template, values: dict):
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    return template.format(**values) if isinstance(template, str) else template


# Safe-method routes that change data: a read key is refused them as a write (tests/security/matrix.py).
STATE_CHANGING = {"clear_file_marker_get"}


def expected_error(role: str, status: int, method: str, route: str = "") -> dict | None:
    if status in ERRORS:
        return ERRORS[status]
    if status == 403 and role == "read_key":
        on_route = " on this route, which changes data" if route in STATE_CHANGING else ""
        return {"code": "api_key_permission", "attr": None,
                "detail": f"API key with permission 'read' does not allow {method}{on_route}."}
    if status == 403:
        return PERMISSION_DENIED
    return None


@pytest.mark.slow
@pytest.mark.parametrize("route", list(MATRIX))
def test_authorization_matrix(world, app, route):
    method, path, body, statuses = MATRIX[route]
    serial = itertools.count()
    for role, status in zip(ROLES, statuses, strict=True):
        n = next(serial)
        ids = setup_workflows(world, n)
        values = {"id": ids["public" if role == "org_shared_member" else "private"], "n": n,
                  "member": str(world.users["member"].id), "admin": str(world.users["admin"].id)}
        response = client_for(world, app, role).request(method, fill(path, values), json=fill(body, values))
        assert response.status_code == status, (route, role, response.json)
        error = expected_error(role, status, method, route)
        if error is not None:
            assert response.json["errors"] == [error], (route, role)


def test_an_id_of_another_org_is_404_for_its_members(world):
    ids = setup_workflows(world, 0)
    outsider = world.api("outsider", org_id="other")
    for method, path in (("GET", "workflow/{id}/"), ("PATCH", "workflow/{id}/"), ("DELETE", "workflow/{id}/"),
                         ("PUT", "workflow/active/{id}/"), ("GET", "workflow/{id}/users/"),
                         ("POST", "workflow/{id}/clear-file-marker/")):
        response = outsider.request(method, path.format(id=ids["public"]), json={})
        assert response.status_code == 404, (method, path)
    assert outsider.get("workflow/").json["count"] == 0


def test_lookup_and_owner_checks_come_before_body_validation(world):
    ids = setup_workflows(world, 0)
    bad = {"workflow_name": "", "shared_users": "x"}
    assert world.api("viewer").patch(f"workflow/{ids['private']}/", json=bad).status_code == 403
    assert world.api("member").patch(f"workflow/{ids['private']}/", json=bad).status_code == 404
    assert world.api("viewer").post(f"workflow/{ids['private']}/owners/", json={}).status_code == 403
    malformed = {"data": "{oops", "content_type": "application/json"}
    assert world.api("viewer").put(f"workflow/{ids['private']}/", **malformed).status_code == 403
    assert world.api("owner").put(f"workflow/{ids['private']}/", **malformed).status_code == 400


def test_content_type_is_checked_before_the_lookup(world):
    ids = setup_workflows(world, 0)
    text = {"data": "workflow_name=x", "content_type": "text/plain"}
    for name in ("viewer", "member", "owner"):
        assert world.api(name).patch(f"workflow/{ids['private']}/", **text).status_code == 415
    assert world.api("member").post(f"workflow/{ids['private']}/owners/", **text).status_code == 415


def test_full_access_is_needed_to_delete_and_read_write_suffices_to_change(world):
    ids = setup_workflows(world, 0)
    read_write = world.api("owner", "read_write")
    assert read_write.patch(f"workflow/{ids['private']}/", json={"status": "ok"}).status_code == 200
    assert read_write.post(f"workflow/{ids['private']}/owners/",
                           json={"user_id": str(world.users["member"].id)}).status_code == 200
    base = f"workflow/{ids['private']}/"
    for path in (base, f"{base}owners/{world.users['admin'].id}/"):
        response = read_write.delete(path)
        assert response.status_code == 403
        assert response.json["errors"][0]["code"] == "api_key_permission"


def test_head_and_options_are_answered_where_get_is(world):
    ids = setup_workflows(world, 0)
    api = world.api("viewer", "read")
    assert api.request("HEAD", f"workflow/{ids['private']}/").status_code == 200
    response = api.request("OPTIONS", f"workflow/{ids['private']}/")
    assert response.status_code == 200
    assert {"GET", "PUT", "PATCH", "DELETE"} <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_methods_a_route_lacks_are_405_for_everyone_who_may_call_it(world):
    ids = setup_workflows(world, 0)
    api = world.api("owner")
    one = ids["private"]
    for method, path in (("DELETE", "workflow/"), ("PUT", "workflow/"), ("POST", f"workflow/{one}/"),
                         ("GET", f"workflow/active/{one}/"), ("POST", "workflow/schema/"),
                         ("POST", f"workflow/{one}/users/"), ("GET", f"workflow/{one}/owners/"),
                         ("PUT", f"workflow/{one}/can-update/")):
        response = api.request(method, path, json={})
        assert response.status_code == 405, (method, path)
        assert response.json["errors"][0]["code"] == "method_not_allowed"
