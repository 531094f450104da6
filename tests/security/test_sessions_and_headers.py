"""Session security: CSRF on session-authenticated writes, login throttling, cookies and headers."""

from __future__ import annotations

from tests.web.web_client import submit_login


def test_session_cookie_is_httponly_and_samesite_lax(client, world):
    response, _ = submit_login(client, "owner@acme.test")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and cookie.startswith("session=")


def test_secure_cookie_when_configured(world, make_app):
    client = make_app(UNSTRACT_SECURE_COOKIES=1).test_client()
    response, _ = submit_login(client, "owner@acme.test")
    assert "Secure" in response.headers["Set-Cookie"]


def test_session_writes_to_the_api_need_the_csrf_header(client, world):
    _, token = submit_login(client, "owner@acme.test")
    url = "/api/v1/unstract/acme/workflow/"
    refused = client.post(url, json={"workflow_name": "By session"})
    assert refused.status_code == 403
    assert refused.json["errors"][0] == {"code": "csrf_failed", "detail": "CSRF token missing or incorrect.",
                                         "attr": None}
    accepted = client.post(url, json={"workflow_name": "By session"}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201
    assert client.get(url).status_code == 200  # reads need no token


def test_bearer_requests_are_exempt_from_csrf(world):
    response = world.api("owner").post("workflow/", json={"workflow_name": "By key"})
    assert response.status_code == 201


def test_login_form_without_csrf_token_is_refused(client, world):
    response = client.post("/login", data={"email": "owner@acme.test", "password": "password123"})
    assert response.status_code == 400


def test_repeated_failures_are_throttled_even_for_the_right_password(client, world):
    for _ in range(5):
        response, _ = submit_login(client, "owner@acme.test", "wrong-password")
        assert response.status_code == 200 and b"Invalid email or password." in response.data
    response, _ = submit_login(client, "owner@acme.test")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert b"Too many failed login attempts" in response.data
    other, _ = submit_login(client, "viewer@acme.test")
    assert other.status_code == 302  # another account is not locked out


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline'" not in \
        csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_passwords_are_stored_with_a_modern_kdf(app, world):
    from unstract.extensions import db
    from unstract.models import User
    from unstract.services import accounts

    user = accounts.add_user("kdf@acme.test", "password123", "acme")  # the production default
    assert db.session.get(User, user.id).password_hash.startswith("scrypt:")
    assert accounts.verify_password("KDF@acme.test", "password123") is not None


def test_api_keys_are_stored_as_sha256_digests(app, world):
    from unstract.extensions import db
    from unstract.models import ApiKey
    from unstract.policy import hash_api_key
    from unstract.services import accounts

    plaintext = accounts.create_api_key("acme", "owner@acme.test", "read")
    stored = db.session.scalars(db.select(ApiKey.key_hash)).all()
    assert hash_api_key(plaintext) in stored and plaintext not in stored
