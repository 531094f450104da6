"""Authentication, org scoping and the envelope on routes every resource shares."""

from __future__ import annotations


def test_anonymous_request_gets_401_envelope_with_www_authenticate(client):
    response = client.get("/api/v1/unstract/acme/workflow/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json == {"type": "client_error", "errors": [
        {"code": "not_authenticated", "detail": "Authentication credentials were not provided.", "attr": None}]}


def test_unknown_bearer_key_is_authentication_failed(client, world):
    response = client.get("/api/v1/unstract/acme/workflow/", headers={"Authorization": "Bearer uk_nope"})
    assert response.status_code == 401
    assert response.json["errors"][0]["code"] == "authentication_failed"


def test_non_bearer_authorization_header_is_authentication_failed(client, world):
    response = client.get("/api/v1/unstract/acme/workflow/", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert response.json["errors"][0]["code"] == "authentication_failed"


def test_key_of_another_org_gets_404(world):
    outsider = world.api("outsider", org_id="acme")
    response = outsider.get("workflow/")
    assert response.status_code == 404
    assert response.json["errors"][0]["code"] == "not_found"


def test_unknown_route_under_base_is_404_envelope(world):
    response = world.api("owner").get("nothing-here/")
    assert response.status_code == 404
    assert response.json == {"type": "client_error",
                             "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}]}


def test_healthz_reports_both_parts(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "ok"}


def test_openapi_document_is_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json["openapi"].startswith("3.0")
    assert set(response.json["components"]["securitySchemes"]) == {"bearerAuth", "cookieAuth"}
