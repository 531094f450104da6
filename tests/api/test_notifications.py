"""Notifications (webhooks) through the API: fields, defaults, credentials never echoed, bad input, rights."""

from __future__ import annotations

import uuid

import pytest

from tests.api.calls import errors_of
from tests.factories import make_workflow
from tests.support import ApiClient
from unstract.extensions import db
from unstract.models import Notification
from unstract.services import accounts

PUBLIC_URL = "https://93.184.215.14/hook"  # a public address literal: no DNS lookup needed


def _notifications(workflow) -> str:
    return f"workflow/{workflow.id}/notifications/"


def _create(api, workflow, **fields):
    return api.post(_notifications(workflow), json={"url": PUBLIC_URL, **fields})


def test_create_applies_the_defaults_and_returns_a_generated_secret_once(api, workflow):
    response = _create(api, workflow)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert {k: body[k] for k in ("url", "events", "is_active", "max_retries", "format", "authorization_type")} == {
        "url": PUBLIC_URL, "events": ["execution.completed", "execution.failed", "execution.stopped"],
        "is_active": True, "max_retries": 5, "format": "json", "authorization_type": "none"}
    again = api.get(f"workflow/notifications/{body['id']}/")
    assert again.status_code == 200 and "secret" not in again.json
    listed = api.get(_notifications(workflow)).json
    assert listed["count"] == 1 and "secret" not in listed["results"][0]


def test_supplied_credentials_are_never_echoed_and_are_sealed_at_rest(api, workflow):
    response = _create(api, workflow, secret="my-own-signing-secret", authorization_type="custom_header",
                       authorization_header="X-Api-Key", authorization_key="receiver-key-123",
                       events=["execution.failed"], format="slack", max_retries=0, is_active=False)
    assert response.status_code == 201, response.json
    body = response.json
    assert "secret" not in body and "authorization_key" not in body and body["has_authorization_key"] is True
    assert "my-own-signing-secret" not in response.get_data(as_text=True)
    assert "receiver-key-123" not in response.get_data(as_text=True)
    assert (body["events"], body["format"], body["max_retries"], body["is_active"]) == (
        ["execution.failed"], "slack", 0, False)
    row = db.session.get(Notification, uuid.UUID(body["id"]))
    assert "my-own-signing-secret" not in row.secret and "receiver-key-123" not in row.authorization_key


def test_patch_keeps_absent_credentials_and_type_none_drops_the_key(api, workflow):
    created = _create(api, workflow, authorization_type="bearer", authorization_key="k-1").json
    path = f"workflow/notifications/{created['id']}/"
    sealed = db.session.get(Notification, uuid.UUID(created["id"])).secret
    changed = api.patch(path, json={"max_retries": 7, "events": ["execution.stopped", "execution.completed"]})
    assert changed.status_code == 200, changed.json
    assert changed.json["events"] == ["execution.completed", "execution.stopped"]
    assert changed.json["max_retries"] == 7 and changed.json["has_authorization_key"] is True
    db.session.expire_all()
    assert db.session.get(Notification, uuid.UUID(created["id"])).secret == sealed
    dropped = api.patch(path, json={"authorization_type": "none"})
    assert dropped.json["has_authorization_key"] is False and dropped.json["authorization_type"] == "none"


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "not a url", "http://", "javascript:alert(1)",
                                 "https://exa mple.com/"])
def test_a_url_that_is_not_http_is_refused(api, workflow, url):
    assert errors_of(_create(api, workflow, url=url))[0]["attr"] == "url"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/",
                                 "http://192.168.1.10/", "http://172.16.0.1/", "http://169.254.169.254/latest",
                                 "http://[::1]/", "http://[fd00::1]/", "http://[::ffff:127.0.0.1]/",
                                 "http://0.0.0.0/", "http://100.64.0.1/", "http://app.localhost/"])
def test_private_targets_are_refused_at_save(api, workflow, url):
    errors = errors_of(_create(api, workflow, url=url))
    assert errors == [{"code": "url_not_allowed", "attr": "url",
                       "detail": "Targets on loopback, private, link-local or reserved networks are not allowed."}]


def test_private_targets_are_accepted_when_the_setting_allows_them(world, make_app, workflow):
    app = make_app(UNSTRACT_WEBHOOK_ALLOW_PRIVATE_NETWORKS="true")
    api = ApiClient(app.test_client(), "acme", accounts.create_api_key("acme", "owner@acme.test", "full_access"))
    assert _create(api, workflow, url="http://127.0.0.1:9/hook").status_code == 201


@pytest.mark.parametrize("fields, attr, code", [
    ({"events": ["execution.started"]}, "events.0", "invalid_choice"),
    ({"events": []}, "events", "invalid"),
    ({"events": "execution.failed"}, "events", "invalid"),
    ({"max_retries": -1}, "max_retries", "min_value"),
    ({"max_retries": 21}, "max_retries", "max_value"),
    ({"max_retries": True}, "max_retries", "invalid"),
    ({"format": "xml"}, "format", "invalid_choice"),
    ({"is_active": "yes"}, "is_active", "invalid"),
    ({"secret": ""}, "secret", "blank"),
    ({"authorization_type": "basic"}, "authorization_type", "invalid_choice"),
    ({"authorization_type": "bearer"}, "authorization_key", "required"),
    ({"authorization_type": "custom_header", "authorization_key": "k"}, "authorization_header", "required"),
    ({"authorization_type": "custom_header", "authorization_key": "k", "authorization_header": "Bad Header"},
     "authorization_header", "invalid"),
    ({"authorization_type": "custom_header", "authorization_key": "k", "authorization_header": "X-Unstract-Event"},
     "authorization_header", "invalid"),
    ({"authorization_type": "api_key", "authorization_key": "a\r\nInjected: 1"}, "authorization_key", "invalid"),
])
def test_bad_fields_are_400_on_the_field(api, workflow, fields, attr, code):
    errors = errors_of(_create(api, workflow, **fields))
    assert (errors[0]["attr"], errors[0]["code"]) == (attr, code), errors


def test_max_retries_bounds_are_inclusive(api, workflow):
    assert _create(api, workflow, max_retries=0).status_code == 201
    assert _create(api, workflow, max_retries=20).status_code == 201


def test_a_missing_url_is_required(api, workflow):
    assert errors_of(api.post(_notifications(workflow), json={}))[0] == {
        "code": "required", "detail": "This field is required.", "attr": "url"}


def test_viewers_read_owners_write_others_see_nothing(world, workflow):
    owner, viewer, member, outsider = (world.api(name) for name in ("owner", "viewer", "member", "outsider"))
    created = _create(owner, workflow).json
    one = f"workflow/notifications/{created['id']}/"
    assert viewer.get(_notifications(workflow)).json["count"] == 1
    assert viewer.get(one).status_code == 200
    assert viewer.get(one + "deliveries/").status_code == 200
    assert _create(viewer, workflow).status_code == 403
    assert viewer.patch(one, json={"is_active": False}).status_code == 403
    assert viewer.delete(one).status_code == 403
    for stranger in (member, outsider):
        assert stranger.get(_notifications(workflow)).status_code == 404
        assert stranger.get(one).status_code == 404
    assert world.api("admin").patch(one, json={"is_active": False}).status_code == 200


def test_delete_removes_the_notification(api, workflow):
    created = _create(api, workflow).json
    one = f"workflow/notifications/{created['id']}/"
    assert api.delete(one).status_code == 204
    assert api.get(one).status_code == 404


def test_read_key_cannot_create(world, workflow):
    response = _create(world.api("owner", "read"), workflow)
    assert response.status_code == 403


def test_notifications_of_another_workflow_are_not_listed(world, api, workflow):
    other = make_workflow(world.users["owner"], "acme")
    _create(api, other)
    assert api.get(_notifications(workflow)).json["count"] == 0
