"""Bad input and refused starts on POST workflow/execute/ (EXECUTION.md, The execute call): envelope, never a 5xx."""

from __future__ import annotations

import io
import uuid

import pytest

from tests.factories import configure, make_workflow
from unstract.extensions import db
from unstract.models import Execution, Organization


@pytest.fixture
def api_workflow(world):
    acme = db.session.scalar(db.select(Organization).where(Organization.org_id == "acme"))
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "API", fileExtensions=["Text documents"])
    configure(workflow, "DESTINATION", "API")
    return workflow


def _errors(response):
    assert response.status_code == 400, response.json
    return response.json["errors"]


@pytest.mark.parametrize("body, attr, code", [
    ({}, "workflow_id", "required"),
    ({"workflow_id": "nope"}, "workflow_id", "invalid"),
    ({"workflow_id": 5}, "workflow_id", "invalid"),
    ({"workflow_id": str(uuid.uuid4()), "execution_id": "x"}, "execution_id", "invalid"),
    ({"workflow_id": str(uuid.uuid4()), "execution_action": "start"}, "execution_action", "invalid_choice"),
    ({"workflow_id": str(uuid.uuid4()), "timeout": "abc"}, "timeout", "invalid"),
    ({"workflow_id": str(uuid.uuid4()), "timeout": 1.5}, "timeout", "invalid"),
    ({"workflow_id": str(uuid.uuid4()), "timeout": -1}, "timeout", "min_value"),
    ({"workflow_id": str(uuid.uuid4()), "timeout": 301}, "timeout", "max_value"),
    ({"workflow_id": str(uuid.uuid4()), "use_file_history": "yes"}, "use_file_history", "invalid"),
    ({"workflow_id": str(uuid.uuid4()), "files": ["a"]}, "files", "invalid"),
])
def test_each_body_field_is_validated_before_the_lookup(world, body, attr, code):
    errors = _errors(world.api("owner").post("workflow/execute/", json=body))
    assert (errors[0]["attr"], errors[0]["code"]) == (attr, code)


def test_files_key_in_json_has_the_contract_message(world):
    errors = _errors(world.api("owner").post("workflow/execute/", json={"workflow_id": str(uuid.uuid4()),
                                                                         "files": []}))
    assert errors == [{"code": "invalid", "attr": "files",
                       "detail": "Files must be sent as multipart/form-data parts named 'files'."}]


def test_unknown_workflow_is_404_and_other_content_types_415(world):
    api = world.api("owner")
    assert api.post("workflow/execute/", json={"workflow_id": str(uuid.uuid4())}).status_code == 404
    response = api.post("workflow/execute/", data="x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json["errors"][0]["detail"] == 'Unsupported media type "text/plain" in request.'


def test_actions_without_execution_id_are_required(world, api_workflow):
    errors = _errors(world.api("owner").post("workflow/execute/", json={
        "workflow_id": str(api_workflow.id), "execution_action": "STOP"}))
    assert errors[0] == {"code": "required", "attr": "execution_id",
                         "detail": "execution_id is required for NEXT, STOP and CONTINUE."}


def test_inactive_workflow_cannot_start(world, api_workflow):
    api_workflow.is_active = False
    db.session.commit()
    errors = _errors(world.api("owner").post("workflow/execute/", json={"workflow_id": str(api_workflow.id)}))
    assert errors[0] == {"code": "workflow_inactive", "detail": "Workflow is inactive.", "attr": None}


def test_unconfigured_endpoints_are_named(world):
    acme = db.session.scalar(db.select(Organization).where(Organization.org_id == "acme"))
    workflow = make_workflow(world.users["owner"], acme)
    errors = _errors(world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id)}))
    assert errors[0] == {"code": "endpoint_not_configured", "attr": None,
                         "detail": "The source connection type is missing."}
    configure(workflow, "SOURCE", "FILESYSTEM")
    errors = _errors(world.api("owner").post("workflow/execute/", json={"workflow_id": str(workflow.id)}))
    assert errors[0]["detail"] == "The source connector is not configured."


def _upload(api, workflow, files, **fields):
    data = {"workflow_id": str(workflow.id), "timeout": "0", **fields,
            "files": [(io.BytesIO(content), name) for name, content in files]}
    return api.post("workflow/execute/", data=data, content_type="multipart/form-data")


def test_upload_rules(world, api_workflow):
    api = world.api("owner")
    assert _errors(_upload(api, api_workflow, []))[0]["detail"] == \
        "At least one file is required when the source is API."
    assert _errors(_upload(api, api_workflow, [("a.pdf", b"x"), ("b.png", b"y")]))[0] == {
        "code": "unsupported_file_type", "attr": "files", "detail": "Unsupported file type: a.pdf, b.png."}
    assert _errors(_upload(api, api_workflow, [("..", b"x")]))[0]["code"] == "invalid_file_name"
    assert _errors(_upload(api, api_workflow, [("a\x07.txt", b"x")]))[0]["code"] == "invalid_file_name"
    duplicate = _errors(_upload(api, api_workflow, [("a.txt", b"x"), ("dir/a.txt", b"y")]))[0]
    assert duplicate == {"code": "duplicate_file_name", "attr": "files", "detail": "Duplicate file name: 'a.txt'."}
    too_many = _errors(_upload(api, api_workflow, [(f"{n}.txt", b"x") for n in range(33)]))[0]
    assert too_many["detail"] == "At most 32 files are allowed per request; received 33."
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)) == 0


@pytest.mark.parametrize("sent, name", [
    ("C:\\Users\\me\\win.pdf", "win.pdf"),
    ("\\\\server\\share\\unc.pdf", "unc.pdf"),
    ("folder/mixed\\both.pdf", "both.pdf"),
])
def test_upload_names_are_the_text_after_the_last_slash_or_backslash(world, api_workflow, sent, name):
    """Werkzeug reads `\\` in a quoted filename as an escape; the name keeps the path's last component."""
    error = _errors(_upload(world.api("owner"), api_workflow, [(sent, b"x")]))[0]
    assert error["detail"] == f"Unsupported file type: {name}."


def test_a_windows_path_and_its_name_are_the_same_upload_name(world, api_workflow):
    files = [("C:\\Users\\me\\win.txt", b"x"), ("win.txt", b"y")]
    assert _errors(_upload(world.api("owner"), api_workflow, files))[0]["detail"] == \
        "Duplicate file name: 'win.txt'."


def world_root():
    from flask import current_app
    return current_app.config["UNSTRACT_SETTINGS"].local_storage_roots[0]


def test_uploads_to_a_folder_source_are_refused(world):
    acme = db.session.scalar(db.select(Organization).where(Organization.org_id == "acme"))
    workflow = make_workflow(world.users["owner"], acme)
    from tests.factories import make_connector
    connector = make_connector(acme.id, "L", "local_storage", {"path": str(world_root())})
    configure(workflow, "SOURCE", "FILESYSTEM", connector)
    configure(workflow, "DESTINATION", "API")
    error = _errors(_upload(world.api("owner"), workflow, [("a.txt", b"x")]))[0]
    assert error["code"] == "uploads_not_allowed"


def test_files_with_an_execution_id_are_refused(world, api_workflow):
    from tests.factories import make_execution
    execution = make_execution(api_workflow)
    error = _errors(_upload(world.api("owner"), api_workflow, [("a.txt", b"x")],
                            execution_id=str(execution.id)))
    assert error[0]["detail"] == "Files can only be sent when a new execution is created."


def test_throttled_when_the_org_has_too_many_pending(world, api_workflow, make_app):
    app = make_app(UNSTRACT_MAX_PENDING_EXECUTIONS=1)
    from tests.support import ApiClient
    from unstract.services import accounts
    key = accounts.create_api_key("acme", "owner@acme.test", "full_access")
    api = ApiClient(app.test_client(), "acme", key)
    assert _upload(api, api_workflow, [("a.txt", b"x")]).status_code == 202
    response = _upload(api, api_workflow, [("b.txt", b"y")])
    assert response.status_code == 429 and response.headers["Retry-After"] == "5"
    assert response.json["errors"][0]["code"] == "throttled"


def test_redis_down_is_503_and_leaves_nothing(world, api_workflow, make_app, tmp_path):
    app = make_app(REDIS_URL=f"unix://{tmp_path}/none.sock")
    from tests.support import ApiClient
    from unstract.services import accounts
    key = accounts.create_api_key("acme", "owner@acme.test", "full_access")
    uploads = app.config["UNSTRACT_SETTINGS"].data_dir / "uploads"
    before = set(uploads.glob("*/*"))
    response = _upload(ApiClient(app.test_client(), "acme", key), api_workflow, [("a.txt", b"x")])
    assert response.status_code == 503
    assert response.json == {"type": "server_error", "errors": [
        {"code": "queue_unavailable", "detail": "The task queue is unavailable.", "attr": None}]}
    assert db.session.scalar(db.select(db.func.count()).select_from(Execution)) == 0
    assert set(uploads.glob("*/*")) == before


def test_body_over_the_limit_is_413(world, api_workflow, make_app):
    app = make_app(MAX_CONTENT_LENGTH=1000)
    from tests.support import ApiClient
    from unstract.services import accounts
    key = accounts.create_api_key("acme", "owner@acme.test", "full_access")
    response = _upload(ApiClient(app.test_client(), "acme", key), api_workflow, [("a.txt", b"x" * 5000)])
    assert response.status_code == 413
    assert response.json["errors"][0] == {"code": "request_too_large", "attr": None,
                                          "detail": "Request body exceeds 1000 bytes."}
