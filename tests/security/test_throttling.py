"""Throttling of failed authentications per client address, in Redis so every web process shares it
(docs/SECURITY.md, Throttling): logins per e-mail and address and per address across e-mails, API keys
per address; 429 `throttled` with Retry-After. Also the Authorization header's accepted forms."""

from __future__ import annotations

import pytest

from tests.web.web_client import csrf_from
from unstract.services import throttle

BAD_KEY = "uk_" + "x" * 43
PROXY = "10.0.0.7"


def from_address(app, address: str, forwarded_for: str | None = None):
    """A test client whose requests come from `address` (optionally naming a client in X-Forwarded-For)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded_for is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def try_login(client, email: str, password: str = "wrong-password-1", **headers):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       headers=headers)


def try_key(client, key: str = BAD_KEY, scheme: str = "Bearer "):
    return client.get("/api/v1/unstract/acme/workflow/", headers={"Authorization": f"{scheme}{key}"})


def spray(client, world, failures: int = throttle.LOGIN_PER_ADDRESS.max_failures) -> None:
    """`failures` wrong passwords spread over the known accounts, below each account's own limit (known
    accounts keep it fast: an unknown e-mail costs a full scrypt evaluation)."""
    emails = [email for email, _, _ in world.people.values()]
    assert failures <= len(emails) * (throttle.LOGIN_PER_ACCOUNT.max_failures - 1)
    for n in range(failures):
        assert try_login(client, emails[n % len(emails)]).status_code == 200


def assert_throttled(response, window: int) -> None:
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= window


# --- Logins ---------------------------------------------------------------------------------------

def test_a_spray_across_emails_from_one_address_is_throttled(app, world):
    sprayer = from_address(app, "198.51.100.4")
    limit = throttle.LOGIN_PER_ADDRESS
    statuses = [try_login(sprayer, f"user{n}@acme.test").status_code for n in range(30)]
    assert statuses == [200] * limit.max_failures + [429] * (30 - limit.max_failures)
    assert_throttled(try_login(sprayer, "owner@acme.test", "password123"), limit.window_seconds)
    refused = try_login(sprayer, "viewer@acme.test", "password123", Accept="application/json")
    assert_throttled(refused, limit.window_seconds)
    assert refused.json["errors"][0]["code"] == "throttled"


def test_another_address_is_not_throttled_by_a_spray(app, world):
    sprayer = from_address(app, "198.51.100.4")
    spray(sprayer, world)
    assert try_login(sprayer, "user99@acme.test").status_code == 429
    assert try_login(from_address(app, "198.51.100.5"), "owner@acme.test", "password123").status_code == 302


def test_a_successful_login_does_not_reset_the_address_counter(app, world):
    """Otherwise a sprayer holding one real account could log in between rounds."""
    sprayer = from_address(app, "198.51.100.4")
    spray(sprayer, world, throttle.LOGIN_PER_ADDRESS.max_failures - 1)
    assert try_login(sprayer, "owner@acme.test", "password123").status_code == 302
    assert try_login(from_address(app, "198.51.100.4"), "user98@acme.test").status_code == 200
    assert try_login(from_address(app, "198.51.100.4"), "user99@acme.test").status_code == 429


def test_repeated_failures_for_one_email_still_lock_that_email_from_that_address(app, world):
    client = from_address(app, "198.51.100.4")
    for _ in range(throttle.LOGIN_PER_ACCOUNT.max_failures):
        assert try_login(client, "owner@acme.test").status_code == 200
    assert_throttled(try_login(client, "owner@acme.test", "password123"), throttle.LOGIN_PER_ACCOUNT.window_seconds)
    assert try_login(client, "viewer@acme.test", "password123").status_code == 302


def test_every_web_process_shares_the_counters(app, make_app, world):
    """Two app instances (as two processes would be) on the same Redis count together."""
    other_process = make_app()
    spray(from_address(app, "198.51.100.4"), world, 10)
    spray(from_address(other_process, "198.51.100.4"), world, throttle.LOGIN_PER_ADDRESS.max_failures - 10)
    assert try_login(from_address(other_process, "198.51.100.4"), "user99@acme.test").status_code == 429


# --- API keys -------------------------------------------------------------------------------------

def test_bad_keys_from_one_address_are_throttled(app, world):
    limit = throttle.API_KEY_PER_ADDRESS
    guesser = from_address(app, "198.51.100.4")
    for _ in range(limit.max_failures):
        response = try_key(guesser)
        assert response.status_code == 401 and response.json["errors"][0]["code"] == "authentication_failed"
    refused = try_key(guesser)
    assert_throttled(refused, limit.window_seconds)
    assert refused.json["errors"][0]["code"] == "throttled"
    good_key = world.api("owner").token
    assert_throttled(try_key(guesser, good_key), limit.window_seconds)  # the address waits, whatever it sends
    assert try_key(from_address(app, "198.51.100.5"), good_key).status_code == 200
    assert try_key(from_address(app, "198.51.100.5")).status_code == 401


def test_malformed_authorization_headers_count_as_failures(app, world):
    guesser = from_address(app, "198.51.100.4")
    for _ in range(throttle.API_KEY_PER_ADDRESS.max_failures):
        assert try_key(guesser, "", scheme="Basic dXNlcjpwYXNz").status_code == 401
    assert try_key(guesser).status_code == 429


def test_requests_without_credentials_do_not_count(app, world):
    anonymous = from_address(app, "198.51.100.4")
    for _ in range(throttle.API_KEY_PER_ADDRESS.max_failures + 1):
        assert anonymous.get("/api/v1/unstract/acme/workflow/").status_code == 401
    assert try_key(anonymous).status_code == 401


# --- Forwarded addresses --------------------------------------------------------------------------

def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(app, world):
    for n in range(throttle.API_KEY_PER_ADDRESS.max_failures):
        try_key(from_address(app, "198.51.100.4", forwarded_for=f"203.0.113.{n}"))
    assert try_key(from_address(app, "198.51.100.4", forwarded_for="203.0.113.200")).status_code == 429


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(make_app, world):
    behind_proxy = make_app(UNSTRACT_TRUSTED_PROXIES="10.0.0.0/24")
    for _ in range(throttle.API_KEY_PER_ADDRESS.max_failures):
        try_key(from_address(behind_proxy, PROXY, forwarded_for="203.0.113.9"))
    assert try_key(from_address(behind_proxy, PROXY, forwarded_for="203.0.113.9")).status_code == 429
    assert try_key(from_address(behind_proxy, PROXY, forwarded_for="203.0.113.10")).status_code == 401
    assert try_key(from_address(behind_proxy, "10.0.0.8")).status_code == 401  # the proxy itself, unforwarded


def test_logins_behind_a_trusted_proxy_are_counted_per_forwarded_client(make_app, world):
    behind_proxy = make_app(UNSTRACT_TRUSTED_PROXIES="10.0.0.7")
    spray(from_address(behind_proxy, PROXY, forwarded_for="203.0.113.9"), world)
    assert try_login(from_address(behind_proxy, PROXY, forwarded_for="203.0.113.9"), "x@acme.test").status_code == 429
    other_client = from_address(behind_proxy, PROXY, forwarded_for="203.0.113.10")
    assert try_login(other_client, "owner@acme.test", "password123").status_code == 302


# --- The Authorization header ---------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["Bearer ", "bearer ", "BEARER ", "bEaReR ", "Bearer   "])
def test_the_scheme_is_case_insensitive_and_may_be_followed_by_several_spaces(app, world, scheme):
    key = world.api("owner").token
    assert try_key(app.test_client(), key, scheme).status_code == 200


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer\t{key}", "Bearer{key}", "Token {key}",
                                    "Basic {key}", "Bearer {key} extra", "{key}", " Bearer {key}"])
def test_any_other_form_is_401(app, world, header):
    key = world.api("owner").token
    response = app.test_client().get("/api/v1/unstract/acme/workflow/",
                                     headers={"Authorization": header.format(key=key)})
    assert response.status_code == 401
    assert response.json["errors"][0]["code"] == "authentication_failed"
