"""GET clear-file-marker (kept for compatibility) deletes data, so it is checked as the write it is: an API
key needs tier read_write or above and a session needs the X-CSRFToken header, exactly as for POST."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from tests.web.web_client import PageUser, web_login
from unstract.extensions import db
from unstract.models import FileHistory


def _workflow_with_history(world) -> str:
    workflow_id = world.api("owner").post("workflow/", json={"workflow_name": "Marked"}).json["id"]
    db.session.add(FileHistory(workflow_id=uuid.UUID(workflow_id), cache_key="a" * 64, file_path="/in/a.txt",
                               path_key="/in/a.txt", status="COMPLETED"))
    db.session.commit()
    return workflow_id


def _histories(workflow_id: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(FileHistory)
                             .where(FileHistory.workflow_id == uuid.UUID(workflow_id)))


def _path(workflow_id: str) -> str:
    return f"/api/v1/unstract/acme/workflow/{workflow_id}/clear-file-marker/"


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_read_key_may_not_clear_through_a_safe_method(world, method):
    workflow_id = _workflow_with_history(world)
    response = world.api("owner", "read").request(method, _path(workflow_id))
    assert response.status_code == 403
    if method == "GET":
        assert response.json["errors"] == [{
            "code": "api_key_permission", "attr": None,
            "detail": "API key with permission 'read' does not allow GET on this route, which changes data."}]
    assert _histories(workflow_id) == 1


@pytest.mark.parametrize("tier", ["read_write", "full_access"])
def test_a_write_key_clears_through_get(world, tier):
    workflow_id = _workflow_with_history(world)
    response = world.api("owner", tier).get(_path(workflow_id))
    assert response.status_code == 200 and response.json["deleted_count"] == 1
    assert _histories(workflow_id) == 0


def test_a_read_key_may_still_read_other_routes(world):
    workflow_id = _workflow_with_history(world)
    assert world.api("owner", "read").get(f"workflow/{workflow_id}/").status_code == 200


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_a_session_needs_the_csrf_header_to_clear(app, world, method):
    workflow_id = _workflow_with_history(world)
    client = app.test_client()
    web_login(client, "owner@acme.test")
    refused = client.open(_path(workflow_id), method=method)
    assert refused.status_code == 403
    if method != "HEAD":
        assert refused.json["errors"][0]["code"] == "csrf_failed"
    assert _histories(workflow_id) == 1
    accepted = client.open(_path(workflow_id), method=method, headers={"X-CSRFToken": client.csrf})
    assert accepted.status_code == 200
    assert _histories(workflow_id) == 0


def test_a_session_reads_other_routes_without_the_header(app, world):
    workflow_id = _workflow_with_history(world)
    client = app.test_client()
    web_login(client, "owner@acme.test")
    assert client.get(f"/api/v1/unstract/acme/workflow/{workflow_id}/").status_code == 200


def test_the_dashboard_never_clears_markers_through_get(app, world):
    workflow_id = _workflow_with_history(world)
    owner = PageUser(app, "owner@acme.test")
    response = owner.get(f"/workflows/{workflow_id}/history/clear-markers")
    assert response.status_code == 405
    assert _histories(workflow_id) == 1
    for rule in app.url_map.iter_rules():
        if "clear" in rule.rule and not rule.rule.startswith("/api/"):
            assert "GET" not in rule.methods, rule.rule
