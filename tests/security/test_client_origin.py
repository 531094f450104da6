"""Who the client is and whether it came over HTTPS (unstract.proxies): forwarding headers count only from
a trusted proxy; the session cookie is Secure over HTTPS, HttpOnly and SameSite=Lax always."""

from __future__ import annotations

import pytest

from tests.web.web_client import submit_login
from unstract.config import ConfigError
from unstract.proxies import client_address, request_is_https

PROXY = "10.0.0.7"


@pytest.fixture
def proxied_app(make_app):
    """An app behind a proxy network and a single proxy address (both forms of the setting)."""
    return make_app(UNSTRACT_TRUSTED_PROXIES=" 10.0.0.0/24 , 192.0.2.1,2001:db8::/32")


def origin(app, peer: str, headers: dict | None = None, *, https: bool = False) -> tuple[str, bool]:
    scheme = "https" if https else "http"
    with app.test_request_context("/", base_url=f"{scheme}://localhost", headers=headers or {},
                                  environ_base={"REMOTE_ADDR": peer}):
        return client_address(), request_is_https()


def test_without_trusted_proxies_the_peer_is_the_client(app):
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert origin(app, "198.51.100.4", forged) == ("198.51.100.4", False)
    assert origin(app, PROXY, forged) == (PROXY, False)


def test_forwarding_headers_from_an_untrusted_peer_are_ignored(proxied_app):
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert origin(proxied_app, "198.51.100.4", forged) == ("198.51.100.4", False)


def test_a_trusted_proxy_names_the_client_and_the_scheme(proxied_app):
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert origin(proxied_app, PROXY, headers) == ("203.0.113.9", True)
    assert origin(proxied_app, "192.0.2.1", headers) == ("203.0.113.9", True)
    assert origin(proxied_app, "2001:db8::1", headers) == ("203.0.113.9", True)
    assert origin(proxied_app, PROXY, {"X-Forwarded-Proto": "http"}) == (PROXY, False)


def test_the_client_is_the_nearest_untrusted_hop(proxied_app):
    """Entries left of the first untrusted hop were written by that hop, which could claim anything."""
    chain = {"X-Forwarded-For": "1.1.1.1, 203.0.113.9, 10.0.0.8"}
    assert origin(proxied_app, PROXY, chain)[0] == "203.0.113.9"
    assert origin(proxied_app, PROXY, {"X-Forwarded-For": "10.0.0.9, 10.0.0.8"})[0] == "10.0.0.9"


def test_garbage_in_forwarding_headers_is_not_trusted_further(proxied_app):
    assert origin(proxied_app, PROXY, {"X-Forwarded-For": "not-an-ip, , 203.0.113.9"})[0] == "203.0.113.9"
    assert origin(proxied_app, PROXY, {"X-Forwarded-For": "10.0.0.8, not-an-ip"})[0] == "not-an-ip"


def test_direct_https_counts_whoever_the_peer_is(app):
    assert origin(app, "198.51.100.4", https=True) == ("198.51.100.4", True)


def test_an_invalid_trusted_proxy_entry_stops_the_app_naming_the_variable(make_app):
    with pytest.raises(ConfigError, match="UNSTRACT_TRUSTED_PROXIES"):
        make_app(UNSTRACT_TRUSTED_PROXIES="10.0.0.0/8,proxy.example.com")


def login_cookie(app, peer: str = "127.0.0.1", headers: dict | None = None, *, https: bool = False) -> str:
    """The session Set-Cookie of a login whose every request comes from `peer` with `headers`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = peer
    original_open = client.open

    def open_from_peer(*args, **kwargs):
        base_url = "https://localhost" if https else "http://localhost"
        # Flask-WTF wants a same-origin Referer on HTTPS form posts, as a browser sends.
        kwargs["headers"] = {"Referer": f"{base_url}/login", **(headers or {}), **(kwargs.get("headers") or {})}
        kwargs.setdefault("base_url", base_url)
        return original_open(*args, **kwargs)

    client.open = open_from_peer
    response, _ = submit_login(client, "owner@acme.test")
    assert response.status_code == 302
    cookie = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    return cookie


def test_the_cookie_is_not_secure_over_plain_http(app, world):
    assert "Secure" not in login_cookie(app)


def test_the_cookie_is_secure_over_direct_https(app, world):
    assert "Secure" in login_cookie(app, https=True)


def test_the_cookie_is_secure_behind_a_trusted_https_proxy_only(proxied_app, world, app):
    forwarded = {"X-Forwarded-Proto": "https"}
    assert "Secure" in login_cookie(proxied_app, PROXY, forwarded)
    assert "Secure" not in login_cookie(proxied_app, "198.51.100.4", forwarded)
    assert "Secure" not in login_cookie(app, PROXY, forwarded)


def test_the_cookie_is_always_secure_with_secure_cookies(make_app, world):
    assert "Secure" in login_cookie(make_app(UNSTRACT_SECURE_COOKIES="true"))
