"""The app's JSON responses (unstract.fastpath.responses): orjson's encoding of what Flask's own provider
would send, and the standard library for what orjson refuses."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import date


@dataclass
class Point:
    x: int
    y: int


def test_a_response_holds_what_flasks_provider_would_send_with_stored_json_embedded_as_it_is(app):
    document = {"text": "ünïcode ✓ <b>", 7: [1.5, None, True], "id": uuid.UUID(int=1), "day": date(2026, 1, 2),
                "point": Point(1, 2), "stored": {"a": [1, 2.5, "x"], "b": None}, "nan": math.nan}
    with app.app_context():
        response = app.json.response(document)
    body = response.get_data()
    assert response.mimetype == "application/json" and body.endswith(b"}\n")
    assert json.loads(body) == {"text": "ünïcode ✓ <b>", "7": [1.5, None, True], "id": str(uuid.UUID(int=1)),
                                "day": "Fri, 02 Jan 2026 00:00:00 GMT", "point": {"x": 1, "y": 2},
                                "stored": {"a": [1, 2.5, "x"], "b": None}, "nan": None}


def test_what_orjson_refuses_is_written_by_the_standard_library_stored_json_included(app):
    document = {"big": 2**70, "stored": {"c": 3}}
    with app.app_context():
        body = app.json.response(document).get_data()
    assert json.loads(body) == {"big": 2**70, "stored": {"c": 3}} and body.endswith(b"\n")

