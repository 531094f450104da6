"""Bad input that fuzzers rarely produce: deep or huge JSON, wrong content types, odd characters, long paths.

Whatever arrives, the answer is a 4xx in the error envelope (docs/API.md, Request bodies; Errors), never a 500.
"""

from __future__ import annotations

import io
import json
import uuid

import pytest

from tests.factories import make_histories
from tests.security.matrix import MATRIX, fill, request_for
from tests.security.scene import build_scene
from tests.support import ApiClient
from unstract.extensions import db
from unstract.models import Workflow

pytestmark = pytest.mark.slow  # every route that takes a body, each with a fresh scene

BODY_ROWS = [key for key, row in MATRIX.items() if row[3] is not None]
BODY_IDS = [f"{method} {rule}" for rule, method in BODY_ROWS]
LIST_RULES = ["workflow/", "workflow/<uuid:workflow_id>/execution/", "workflow/execution/<uuid:execution_id>/files/",
              "workflow/execution/<uuid:execution_id>/logs/", "workflow/<uuid:workflow_id>/file-histories/",
              "workflow/<uuid:workflow_id>/endpoint/", "connector/", "connector/types/", "tool/", "tool_instance/",
              "member/", "workflow/<uuid:workflow_id>/schedules/", "workflow/schedules/<uuid:schedule_id>/runs/"]
UNKNOWN = "00000000-0000-4000-8000-000000000000"
NUL = {"code": "null_characters_not_allowed", "detail": "Null characters are not allowed."}


def error(status: int, code: str, detail: str) -> dict:
    kind = "validation_error" if status == 400 else "client_error"
    return {"type": kind, "errors": [{"code": code, "detail": detail, "attr": None}]}


@pytest.fixture
def scene(world, storage_root):
    return {**build_scene(world, "acme", "owner", storage_root, viewers=("viewer",)),
            "member": str(world.users["member"].id)}


@pytest.fixture
def owner(world) -> ApiClient:
    """The org admin: an owner of every workflow and the one role that may write adapters (every body route)."""
    return world.api("admin")


def body_request(scene: dict, rule: str, method: str) -> tuple[str, dict]:
    """The owner's path for a body route and a valid body for it."""
    _, _, query, body = MATRIX[(rule, method)]
    path, values = request_for(rule, query, scene, "owner", {"member": scene["member"]})
    return path, fill(body, values)


# --- Deep and huge JSON ------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "method"), BODY_ROWS, ids=BODY_IDS)
def test_deeply_nested_json_is_a_parse_error(owner, scene, rule, method):
    path, _ = body_request(scene, rule, method)
    deep = "[" * 100_000 + "]" * 100_000
    response = owner.request(method, path, data=deep, content_type="application/json")
    assert (response.status_code, response.json) == (400, error(400, "parse_error", "JSON parse error."))


def test_nesting_within_the_parser_limit_is_an_ordinary_validation_error(owner):
    nested = json.loads("[" * 500 + "]" * 500)
    response = owner.post("workflow/", json={"workflow_name": nested, "source_settings": nested})
    assert response.status_code == 400
    assert response.json["errors"] == [{"code": "invalid", "detail": "Not a valid string.", "attr": "workflow_name"}]


@pytest.mark.parametrize(("rule", "method"), BODY_ROWS, ids=BODY_IDS)
def test_a_body_over_the_limit_is_413_before_anything_else(world, make_app, scene, rule, method):
    client = make_app(MAX_CONTENT_LENGTH=1000).test_client()
    path, body = body_request(scene, rule, method)
    huge = json.dumps({**body, "padding": "x" * 2000})
    expected = error(413, "request_too_large", "Request body exceeds 1000 bytes.")
    for api in (ApiClient(client, "acme", world.api("owner").token), ApiClient(client, "acme")):
        response = api.request(method, path, data=huge, content_type="application/json")
        assert (response.status_code, response.json) == (413, expected)


def test_a_multipart_upload_over_the_limit_is_413(world, make_app, scene):
    client = make_app(MAX_CONTENT_LENGTH=1000).test_client()
    api = ApiClient(client, "acme", world.api("owner").token)
    data = {"workflow_id": scene["private"]["workflow_id"], "files": (io.BytesIO(b"x" * 5000), "a.txt")}
    response = api.post("workflow/execute/", data=data, content_type="multipart/form-data")
    assert response.status_code == 413 and response.json["errors"][0]["code"] == "request_too_large"


def test_a_chunked_body_over_the_limit_is_413_not_truncated(world, make_app):
    """No Content-Length (Transfer-Encoding: chunked, as gunicorn passes it): the limit still holds."""
    client = make_app(MAX_CONTENT_LENGTH=1000).test_client()
    headers = {"Authorization": f"Bearer {world.api('owner').token}", "Content-Type": "application/json",
               "Transfer-Encoding": "chunked"}
    statuses = []
    for padding in (10, 5000):  # valid JSON in the first 1000 bytes either way
        body = json.dumps({"workflow_name": f"Chunked {padding}"}).encode() + b" " * padding
        statuses.append(client.post("/api/v1/unstract/acme/workflow/", input_stream=io.BytesIO(body), headers=headers,
                                    environ_overrides={"wsgi.input_terminated": True}).status_code)
    assert statuses == [201, 413]


# --- Content types and malformed JSON ------------------------------------------------------------

@pytest.mark.parametrize(("rule", "method"), BODY_ROWS, ids=BODY_IDS)
def test_wrong_content_types_are_415_on_every_body_route(owner, scene, rule, method):
    path, body = body_request(scene, rule, method)
    types = ["text/plain", "application/xml", "application/x-www-form-urlencoded", "text/json"]
    if rule != "workflow/execute/":
        types.append("multipart/form-data; boundary=b")
    for content_type in types:
        response = owner.request(method, path, data=json.dumps(body), content_type=content_type)
        assert response.status_code == 415, content_type
        detail = f'Unsupported media type "{content_type}" in request.'
        assert response.json == error(415, "unsupported_media_type", detail)


@pytest.mark.parametrize(("rule", "method"), BODY_ROWS, ids=BODY_IDS)
def test_a_charset_parameter_is_accepted(owner, scene, rule, method):
    path, body = body_request(scene, rule, method)
    response = owner.request(method, path, data=json.dumps(body), content_type="application/json; charset=utf-8")
    assert response.status_code < 300, response.get_json()


@pytest.mark.parametrize(("rule", "method"), BODY_ROWS, ids=BODY_IDS)
def test_the_content_type_is_checked_before_the_lookup(world, rule, method):
    """Step 7 (415) comes before step 8 (404) in docs/API.md, Order of checks, so an unknown id still gets 415."""
    path = rule.replace("<uuid:", "").replace(">", "")
    for name in ("workflow_id", "connector_id", "endpoint_id", "instance_id", "adapter_id", "deployment_id",
                 "key_id", "schedule_id", "notification_id"):
        path = path.replace(name, UNKNOWN)
    for name in ("owner", "member"):
        response = world.api(name).request(method, path, data="a=b", content_type="text/plain")
        assert response.status_code == 415, name


@pytest.mark.parametrize(("rule", "method"), BODY_ROWS, ids=BODY_IDS)
def test_malformed_json_and_non_objects_are_400(owner, scene, rule, method):
    path, _ = body_request(scene, rule, method)
    for raw in ("{oops", '{"a": 1,}', "{'a': 1}", b"\xff\xfe{}", '{"a": [1, 2}', "{}{}"):
        response = owner.request(method, path, data=raw, content_type="application/json")
        assert response.json == error(400, "parse_error", "JSON parse error."), raw
    for raw in ("[]", "[{}]", '"text"', "1", "true", "null"):
        response = owner.request(method, path, data=raw, content_type="application/json")
        assert response.json == error(400, "invalid", "Expected a JSON object."), raw


@pytest.mark.parametrize(("method", "path"), [("PUT", "workflow/active/{}/"), ("DELETE", "workflow/{}/"),
                                              ("POST", "workflow/{}/clear-file-marker/")])
def test_routes_that_read_no_body_ignore_its_type_and_content(owner, scene, method, path):
    response = owner.request(method, path.format(scene["private"]["workflow_id"]), data="{oops",
                             content_type="text/plain")
    assert response.status_code in (200, 204)


# --- Characters --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["\u202eexe.pdf", "Invoices \U0001F4C4", "naïve 名前", "a\tb", "zero\u200bwidth"])
def test_unicode_names_round_trip_unchanged(owner, name):
    created = owner.post("workflow/", json={"workflow_name": name, "description": name})
    assert created.status_code == 201, created.get_json()
    assert created.json["workflow_name"] == name.strip()
    fetched = owner.get(f"workflow/{created.json['id']}/").json
    assert (fetched["workflow_name"], fetched["description"]) == (name.strip(), name)
    assert owner.get("workflow/", query_string={"workflow_name": name.strip()}).json["count"] == 1


def test_nul_characters_in_bodies_are_refused(owner, scene):
    endpoint = f"workflow/endpoint/{scene['private']['endpoint_id']}/"
    workflows_before = db.session.scalar(db.select(db.func.count()).select_from(Workflow))
    for method, path, body, attr in (
            ("POST", "workflow/", {"workflow_name": "a\x00b"}, "workflow_name"),
            ("POST", "workflow/", {"workflow_name": "Nul", "description": "\x00"}, "description"),
            ("POST", "workflow/", {"workflow_name": "Nul", "source_settings": {"k": ["\x00"]}}, "source_settings.k.0"),
            ("PATCH", endpoint, {"configuration": {"folders": ["a\x00"]}}, "configuration.folders.0")):
        response = owner.request(method, path, json=body)
        assert response.status_code == 400, body
        assert response.json["errors"] == [{**NUL, "attr": attr}]
    assert db.session.scalar(db.select(db.func.count()).select_from(Workflow)) == workflows_before


def test_a_lone_surrogate_is_refused(owner):
    response = owner.post("workflow/", data='{"workflow_name": "x\\ud800"}', content_type="application/json")
    assert response.status_code == 400
    assert response.json["errors"] == [{"code": "surrogate_characters_not_allowed", "attr": "workflow_name",
                                        "detail": "Surrogate characters are not allowed: U+D800."}]
    pair = owner.post("workflow/", data='{"workflow_name": "\\ud83d\\ude00"}', content_type="application/json")
    assert (pair.status_code, pair.json["workflow_name"]) == (201, "\U0001F600")  # a valid pair is one character


def test_a_connector_path_with_a_nul_character_is_refused(owner, storage_root):
    for connector_id, path in (("local_storage", f"{storage_root}/a\x00b"), ("sqlite", f"{storage_root}/a\x00.db")):
        body = {"connector_name": f"Nul {connector_id}", "connector_id": connector_id,
                "connector_metadata": {"path": path}}
        response = owner.post("connector/", json=body)
        assert (response.status_code, response.json["errors"]) == (400, [{**NUL, "attr": "connector_metadata.path"}])


def test_nul_characters_in_query_filters_are_refused(owner, scene):
    histories = f"workflow/{scene['private']['workflow_id']}/file-histories/"
    for path, params in (("workflow/", {"search": "\x00"}), ("workflow/", {"workflow_name": "a\x00"}),
                         (histories, {"file_path": "\x00"}), ("connector/", {"ordering": "\x00"})):
        response = owner.get(path, query_string=params)
        assert response.status_code == 400, (path, params)
        assert response.json["errors"] == [{**NUL, "attr": next(iter(params))}]


def test_nan_and_infinity_are_not_json(owner):
    for raw in ('{"workflow_name": "n", "source_settings": NaN}', '{"workflow_name": "m", "status": -Infinity}',
                '{"workflow_name": "i", "source_settings": [Infinity]}'):
        response = owner.post("workflow/", data=raw, content_type="application/json")
        assert response.json == error(400, "parse_error", "JSON parse error."), raw


def test_an_integer_too_large_for_its_column_is_a_validation_error(owner, scene):
    workflow = f"workflow/{scene['private']['workflow_id']}/"
    for method, path in (("POST", "workflow/"), ("PUT", workflow), ("PATCH", workflow)):
        response = owner.request(method, path, json={"workflow_name": "Huge", "max_file_execution_count": 10 ** 30})
        assert response.status_code == 400, method
        assert response.json["errors"] == [{"code": "max_value", "attr": "max_file_execution_count",
                                            "detail": "Ensure this value is less than or equal to 2147483647."}]


def test_integers_beyond_64_bits_in_bounded_or_compared_fields_are_answered(owner, scene):
    ids, huge = scene["private"], 10 ** 30
    for method, path, body in (
            ("POST", "workflow/execute/", {"workflow_id": ids["workflow_id"], "timeout": huge}),
            ("POST", "tool_instance/", {"workflow_id": ids["workflow_id"], "tool_id": "text_extractor", "step": huge}),
            ("PATCH", f"tool_instance/{ids['instance_id']}/", {"step": -huge}),
            ("POST", f"workflow/{ids['workflow_id']}/file-histories/clear/", {"execution_count_min": huge}),
            ("GET", f"workflow/{ids['workflow_id']}/file-histories/?execution_count_max={huge}", None),
            ("GET", f"workflow/execution/{ids['execution_id']}/logs/?after={huge}", None),
            ("GET", f"workflow/?page_size={huge}", None)):
        response = owner.request(method, path, json=body)
        assert response.status_code in (200, 400), (method, path)


@pytest.mark.parametrize("path", ["workflow/", "connector/", "member/", "workflow/execution/{execution_id}/logs/"])
def test_a_page_number_beyond_any_table_is_invalid_page(owner, scene, path):
    response = owner.get(path.format(**scene["private"]), query_string={"page": 10 ** 30})
    assert (response.status_code, response.json) == (404, error(404, "invalid_page", "Invalid page."))


# --- Paths and query strings ---------------------------------------------------------------------

def test_very_long_path_segments_are_404(owner, scene):
    long = "a" * 10_000
    for path in (f"workflow/{long}/", f"workflow/{scene['private']['workflow_id']}/file-histories/{long}/",
                 f"{long}/", f"/api/v1/unstract/{long}/workflow/", f"workflow/execution/{'0' * 10_000}/"):
        response = owner.get(path)
        assert (response.status_code, response.json) == (404, error(404, "not_found", "Not found.")), path[:60]


@pytest.mark.parametrize("segment", ["%00", "%E2%80%AE", "%F0%9F%93%84", "%0D%0ASet-Cookie:x=1", "..%2F..%2F", "%ZZ"])
def test_odd_characters_in_path_segments_are_404(owner, scene, segment):
    workflow = scene["private"]["workflow_id"]
    for path in (f"workflow/{segment}/", f"workflow/{workflow}/file-histories/{segment}/",
                 f"/api/v1/unstract/{segment}/workflow/", f"workflow/{workflow}{segment}/"):
        response = owner.get(path)
        assert (response.status_code, response.json) == (404, error(404, "not_found", "Not found.")), path
        assert "Set-Cookie" not in response.headers


def test_very_long_query_values_are_answered(owner):
    response = owner.get("workflow/", query_string={"search": "x" * 10_000, "workflow_name": "y" * 10_000})
    assert (response.status_code, response.json["count"]) == (200, 0)


def test_the_first_of_repeated_query_parameters_wins(owner, world):
    for n in range(3):
        owner.post("workflow/", json={"workflow_name": f"Dup {n}"})
    first = owner.get("workflow/?ordering=workflow_name&page_size=1&page=1").json["results"]
    repeated = owner.get("workflow/?ordering=workflow_name&ordering=-workflow_name&page_size=1&page_size=3"
                         "&page=1&page=2").json
    assert repeated["results"] == first
    assert owner.get("workflow/?is_active=true&is_active=maybe").status_code == 200


def test_page_size_above_1000_is_treated_as_1000(owner, scene):
    workflow = db.session.get(Workflow, uuid.UUID(scene["private"]["workflow_id"]))
    make_histories(workflow, 1001)
    page = owner.get(f"workflow/{workflow.id}/file-histories/?page_size=1001").json
    assert (page["count"], len(page["results"])) == (1002, 1000)
    assert page["next"].endswith("page_size=1001&page=2")


@pytest.mark.parametrize("rule", LIST_RULES)
def test_head_and_options_on_list_routes(world, scene, rule):
    api = world.api("owner", "read")
    _, _, query, _ = MATRIX[(rule, "GET")]
    path, _ = request_for(rule, query, scene, "owner", {})
    full = api.get(path)
    head = api.request("HEAD", path)
    assert (head.status_code, head.get_data()) == (200, b"")
    assert head.headers["Content-Length"] == str(len(full.get_data()))
    options = api.request("OPTIONS", path)
    assert (options.status_code, options.get_data()) == (200, b"")
    assert {"GET", "HEAD", "OPTIONS"} <= {m.strip() for m in options.headers["Allow"].split(",")}
