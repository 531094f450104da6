"""Bounded request bodies (docs/SECURITY.md, Bounded sizes): JSON configuration values of at most 256 KiB,
and multipart bodies of at most UNSTRACT_MAX_FORM_PARTS parts (400 too_many_parts, not 413)."""

from __future__ import annotations

import io

import pytest

from tests.api.calls import create, errors_of
from tests.factories import configure, make_connector, make_workflow
from unstract.models import Workflow
from unstract.sizes import CONFIG_JSON_BYTES, json_size

TOO_BIG = {"blob": "x" * CONFIG_JSON_BYTES}
FITS = {"blob": "x" * (CONFIG_JSON_BYTES - json_size({"blob": ""}))}
MAX_LENGTH = {"code": "max_length", "detail": f"Ensure this field has no more than {CONFIG_JSON_BYTES} bytes."}


@pytest.mark.parametrize("field", ["source_settings", "destination_settings"])
def test_workflow_settings_above_the_bound_are_refused(world, field):
    api = world.api("owner")
    response = api.post("workflow/", json={"workflow_name": "Big", field: TOO_BIG})
    assert errors_of(response) == [{**MAX_LENGTH, "attr": field}]
    workflow = create(api, "Fits", **{field: FITS})
    assert workflow[field] == FITS
    assert errors_of(api.patch(f"workflow/{workflow['id']}/", json={field: TOO_BIG})) == [{**MAX_LENGTH, "attr": field}]


def test_connector_metadata_above_the_bound_is_refused(world, storage_root):
    api = world.api("owner")
    body = {"connector_name": "Big", "connector_id": "local_storage",
            "connector_metadata": {"path": str(storage_root), **TOO_BIG}}
    assert errors_of(api.post("connector/", json=body)) == [{**MAX_LENGTH, "attr": "connector_metadata"}]
    connector = make_connector("acme", "Files", "local_storage", {"path": str(storage_root)},
                               created_by=world.users["owner"])
    response = api.patch(f"connector/{connector.id}/", json={"connector_metadata": TOO_BIG})
    assert errors_of(response) == [{**MAX_LENGTH, "attr": "connector_metadata"}]


def test_tool_metadata_above_the_bound_is_refused(world):
    workflow = make_workflow(world.users["owner"], "acme")
    body = {"workflow_id": str(workflow.id), "tool_id": "text_extractor", "metadata": TOO_BIG}
    assert errors_of(world.api("owner").post("tool_instance/", json=body)) == [{**MAX_LENGTH, "attr": "metadata"}]


def test_endpoint_configuration_above_the_bound_is_refused(world):
    workflow = make_workflow(world.users["owner"], "acme")
    endpoint = workflow.endpoint("SOURCE")
    response = world.api("owner").patch(f"workflow/endpoint/{endpoint.id}/", json={"configuration": TOO_BIG})
    assert errors_of(response) == [{**MAX_LENGTH, "attr": "configuration"}]


def _upload_parts(api, workflow: Workflow, files: int):
    """POST workflow/execute/ as multipart: the workflow_id part and `files` file parts."""
    data = {"workflow_id": str(workflow.id),
            "files": [(io.BytesIO(b"x"), f"{n}.txt") for n in range(files)]}
    return api.post("workflow/execute/", data=data, content_type="multipart/form-data")


def test_a_multipart_body_of_more_parts_than_the_limit_is_a_400(world):
    workflow = make_workflow(world.users["owner"], "acme")
    configure(workflow, "SOURCE", "API")
    configure(workflow, "DESTINATION", "API")
    api = world.api("owner")
    refused = _upload_parts(api, workflow, files=1000)  # 1001 parts
    assert errors_of(refused) == [{"code": "too_many_parts", "attr": None,
                                   "detail": "The multipart body has more than 1000 parts."}]
    at_limit = _upload_parts(api, workflow, files=999)  # 1000 parts: parsed, then too many files
    assert errors_of(at_limit)[0]["code"] == "max_files"
