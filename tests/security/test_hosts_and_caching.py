"""Answers are never cached, and absolute URLs never come from an untrusted `Host` (docs/API.md, Hosts and
absolute URLs; docs/SECURITY.md)."""

from __future__ import annotations

import pytest

from tests.support import ApiClient
from tests.web.web_client import web_login
from unstract.hosts import host_is_trusted
from unstract.services import accounts

MEMBERS_PAGE = "member/?page_size=1"
MEMBERS_PATH = "/api/v1/unstract/acme/member/"


def api_of(application) -> ApiClient:
    """A full-access key of the owner, on `application` (same database as the session's app)."""
    return ApiClient(application.test_client(), "acme", accounts.create_api_key("acme", "owner@acme.test",
                                                                                "full_access"))


def bad_host_entry(response) -> dict:
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["type"] == "validation_error"
    [entry] = response.json["errors"]
    return entry


# --- Cache-Control ---------------------------------------------------------------------------

def test_authenticated_json_is_never_stored(world):
    api = world.api("owner")
    for response in (api.get("workflow/"), api.get("workflow/not-a-uuid/"), api.post("workflow/", json={})):
        assert response.headers["Cache-Control"] == "no-store", response.status_code


def test_authenticated_pages_are_never_stored(client, world):
    web_login(client, "owner@acme.test")
    for path in ("/", "/overview", "/connectors", "/adapters", "/keys", "/executions"):
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "text/html"
        assert response.headers["Cache-Control"] == "no-store", path
    assert client.get("/api/v1/unstract/acme/workflow/").headers["Cache-Control"] == "no-store"


def test_static_files_keep_their_caching(client):
    response = client.get("/static/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


# --- Host ------------------------------------------------------------------------------------

def test_unknown_host_is_refused_in_the_envelope_before_authentication(world):
    api = world.api("owner")
    entry = bad_host_entry(api.get(MEMBERS_PAGE, headers={"Host": "evil.example"}))
    assert entry == {"code": "bad_host", "attr": None,
                     "detail": 'Host "evil.example" is not allowed; see UNSTRACT_TRUSTED_HOSTS.'}
    anonymous = ApiClient(api.client, "acme")
    assert bad_host_entry(anonymous.get(MEMBERS_PAGE, headers={"Host": "evil.example:80"}))["code"] == "bad_host"


def test_health_check_answers_any_host(client):
    assert client.get("/healthz", headers={"Host": "10.0.0.7:5000"}).status_code == 200


def test_metrics_answer_any_host_and_keep_their_token(make_app):
    # Prometheus scrapes a target by address; the page builds no link, and its token still applies.
    scraped = make_app(UNSTRACT_METRICS_TOKEN="m-token").test_client()
    by_address = {"Host": "10.0.0.7:5000"}
    assert scraped.get("/metrics", headers=by_address).status_code == 401
    response = scraped.get("/metrics", headers={**by_address, "Authorization": "Bearer m-token"})
    assert response.status_code == 200 and b"# TYPE unstract_files_total counter" in response.data


def test_unknown_host_on_a_page_is_a_bare_escaped_page(client):
    response = client.get("/login", headers={"Host": "evil.example"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Host &#34;evil.example&#34; is not allowed" in page
    assert "csrf" not in page and "<nav" not in page and "<a " not in page


def test_default_hosts_are_the_listen_host_and_loopback_on_any_port(world, make_app):
    api = api_of(make_app(HOST="10.1.2.3"))
    for host in ("localhost", "localhost:5000", "127.0.0.1:8080", "10.1.2.3", "10.1.2.3:5000", "LOCALHOST"):
        response = api.get(MEMBERS_PAGE, headers={"Host": host})
        assert response.status_code == 200, host
        assert response.json["next"] == f"http://{host.lower()}{MEMBERS_PATH}?page_size=1&page=2"
    for host in ("10.1.2.4", "localhost.evil.example", "127.0.0.1.evil.example:80", "[::1]"):
        assert bad_host_entry(api.get(MEMBERS_PAGE, headers={"Host": host}))["code"] == "bad_host", host


def test_trusted_hosts_replace_the_defaults(world, make_app):
    api = api_of(make_app(UNSTRACT_TRUSTED_HOSTS="api.example.com, other.example:8443,[::1]"))
    for host in ("api.example.com", "api.example.com:9000", "other.example:8443", "[::1]:5000"):
        response = api.get(MEMBERS_PAGE, headers={"Host": host})
        assert response.status_code == 200, host
        assert response.json["next"].startswith(f"http://{host}/api/")
    for host in ("other.example", "other.example:8444", "localhost", "sub.api.example.com"):
        assert bad_host_entry(api.get(MEMBERS_PAGE, headers={"Host": host}))["code"] == "bad_host", host


def test_external_url_makes_the_links_whatever_the_host(world, make_app):
    api = api_of(make_app(UNSTRACT_EXTERNAL_URL="https://unstract.example.com/base/"))
    first = api.get(MEMBERS_PAGE, headers={"Host": "evil.example"})
    assert first.status_code == 200
    assert first.json["next"] == f"https://unstract.example.com/base{MEMBERS_PATH}?page_size=1&page=2"
    second = api.get(MEMBERS_PAGE + "&page=2")
    assert second.json["previous"] == f"https://unstract.example.com/base{MEMBERS_PATH}?page_size=1&page=1"


def test_external_url_with_trusted_hosts_still_checks_the_host(world, make_app):
    api = api_of(make_app(UNSTRACT_EXTERNAL_URL="https://unstract.example.com",
                          UNSTRACT_TRUSTED_HOSTS="unstract.example.com"))
    response = api.get(MEMBERS_PAGE, headers={"Host": "unstract.example.com"})
    assert response.json["next"].startswith("https://unstract.example.com/api/")
    assert bad_host_entry(api.get(MEMBERS_PAGE, headers={"Host": "evil.example"}))["code"] == "bad_host"


def test_keys_page_shows_the_api_base_from_the_external_url(world, make_app):
    client = make_app(UNSTRACT_EXTERNAL_URL="https://unstract.example.com").test_client()
    web_login(client, "owner@acme.test")
    page = client.get("/keys").get_data(as_text=True)
    assert "https://unstract.example.com/api/v1/unstract/acme/" in page and "http://localhost" not in page


@pytest.mark.parametrize("host, trusted, expected", [
    ("localhost", ("localhost",), True),
    ("localhost:8000", ("localhost",), True),
    ("localhost:8000", ("localhost:8000",), True),
    ("localhost:8001", ("localhost:8000",), False),
    ("localhost", ("localhost:8000",), False),
    ("Example.COM", ("example.com",), True),
    ("[::1]:80", ("[::1]",), True),
    ("", ("localhost",), False),
    ("a:b:c", ("a",), False),
    ("evil.example", None, True),
])
def test_host_matching(host, trusted, expected):
    assert host_is_trusted(host, trusted) is expected
