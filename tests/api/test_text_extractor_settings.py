"""The text extractor's OCR settings through the tool instance API: defaults, bounds, the mode enum and the
language pattern (docs/EXECUTION.md, Tools)."""

from __future__ import annotations

import pytest

from tests.api.calls import errors_of
from tests.factories import acme_workflow


@pytest.fixture
def workflow(world):
    return acme_workflow(world).id


def add(api, workflow_id, **metadata):
    return api.post("tool_instance/", json={"workflow_id": str(workflow_id), "tool_id": "text_extractor",
                                            "metadata": metadata})


def test_ocr_settings_are_stored_as_given(world, workflow):
    response = add(world.api("owner"), workflow, mode="ocr", ocr_language="eng+deu", dpi=72, ocr_min_chars=0)
    assert response.status_code == 201, response.json
    assert response.json["metadata"] == {"normalize_whitespace": False, "max_pages": None, "mode": "ocr",
                                         "ocr_language": "eng+deu", "dpi": 72, "ocr_min_chars": 0}


@pytest.mark.parametrize(("metadata", "attr", "code"), [
    ({"dpi": 71}, "metadata.dpi", "min_value"),
    ({"dpi": 601}, "metadata.dpi", "max_value"),
    ({"dpi": 300.5}, "metadata.dpi", "invalid"),
    ({"dpi": "300"}, "metadata.dpi", "invalid"),
    ({"mode": "fast"}, "metadata.mode", "invalid_choice"),
    ({"mode": "OCR"}, "metadata.mode", "invalid_choice"),
    ({"ocr_language": ""}, "metadata.ocr_language", "invalid"),
    ({"ocr_language": "eng deu"}, "metadata.ocr_language", "invalid"),
    ({"ocr_language": "../../etc/passwd"}, "metadata.ocr_language", "invalid"),
    ({"ocr_min_chars": -1}, "metadata.ocr_min_chars", "min_value"),
])
def test_out_of_range_ocr_settings_are_refused_with_the_field(world, workflow, metadata, attr, code):
    response = add(world.api("owner"), workflow, **metadata)
    assert response.status_code == 400
    assert [(e["attr"], e["code"]) for e in errors_of(response)] == [(attr, code)]


def test_dpi_bounds_are_inclusive(world, workflow):
    api = world.api("owner")
    assert add(api, workflow, dpi=72).status_code == 201 and add(api, workflow, dpi=600).status_code == 201


def test_a_patch_validates_the_mode_too(world, workflow):
    api = world.api("owner")
    instance = add(api, workflow).json
    bad = api.patch(f"tool_instance/{instance['id']}/", json={"metadata": {"mode": "sometimes"}})
    assert [(e["attr"], e["code"]) for e in errors_of(bad)] == [("metadata.mode", "invalid_choice")]
    good = api.patch(f"tool_instance/{instance['id']}/", json={"metadata": {"mode": "native", "dpi": 150}})
    assert good.status_code == 200 and (good.json["metadata"]["mode"], good.json["metadata"]["dpi"]) == ("native", 150)
