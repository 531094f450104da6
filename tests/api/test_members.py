"""GET member/ and the pagination rules every list shares (docs/API.md, Pagination)."""


def test_members_are_listed_by_email_with_roles(world):
    response = world.api("member").get("member/")
    assert response.status_code == 200
    emails = [row["email"] for row in response.json["results"]]
    assert emails == sorted(emails) and "admin@acme.test" in emails
    assert "outsider@other.test" not in emails
    roles = {row["email"]: row["role"] for row in response.json["results"]}
    assert roles["admin@acme.test"] == "admin" and roles["owner@acme.test"] == "member"


def test_pagination_links_keep_other_params_and_set_page(world):
    api = world.api("member")
    response = api.get("member/?ordering=-email&page_size=1")
    body = response.json
    assert body["count"] == 4 and len(body["results"]) == 1
    assert body["previous"] is None
    assert body["next"] == "http://localhost/api/v1/unstract/acme/member/?ordering=-email&page_size=1&page=2"
    second = api.get("member/?page=2&ordering=-email&page_size=1").json
    assert second["previous"] == "http://localhost/api/v1/unstract/acme/member/?page=1&ordering=-email&page_size=1"


def test_page_past_the_end_is_invalid_page(world):
    response = world.api("member").get("member/?page=9")
    assert response.status_code == 404
    assert response.json["errors"][0] == {"code": "invalid_page", "detail": "Invalid page.", "attr": None}


def test_bad_page_parameters_are_400_with_attr(world):
    api = world.api("member")
    bad = api.get("member/?page=0").json["errors"][0]
    assert bad == {"code": "min_value", "detail": "Ensure this value is greater than or equal to 1.",
                   "attr": "page"}
    bad = api.get("member/?page_size=abc")
    assert bad.status_code == 400
    assert bad.json["errors"][0] == {"code": "invalid", "detail": "A valid integer is required.",
                                     "attr": "page_size"}


def test_unknown_ordering_field_is_rejected(world):
    response = world.api("member").get("member/?ordering=password_hash")
    assert response.status_code == 400
    assert response.json["errors"][0]["detail"] == "Unknown ordering field: password_hash."


def test_route_answers_without_trailing_slash_and_405_lists_allowed(world):
    api = world.api("member")
    assert api.get("member").status_code == 200
    response = api.delete("member/")
    assert response.status_code == 405
    assert response.json["errors"][0]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_read_key_cannot_post(world):
    response = world.api("member", "read").post("member/", json={})
    assert response.status_code == 403
    assert response.json["errors"][0] == {
        "code": "api_key_permission", "attr": None,
        "detail": "API key with permission 'read' does not allow POST."}
