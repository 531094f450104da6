"""Requests and answers the API tests share: create a workflow or a local connector, read a 400's errors."""

from __future__ import annotations


def errors_of(response) -> list[dict]:
    """The errors of a 400 validation answer."""
    assert response.status_code == 400, response.json
    assert response.json["type"] == "validation_error"
    return response.json["errors"]


def create(api, name: str = "Invoices", **fields) -> dict:
    """POST workflow/ and the created representation."""
    response = api.post("workflow/", json={"workflow_name": name, **fields})
    assert response.status_code == 201, response.json
    return response.json


def local(storage_root, name: str = "inbox") -> str:
    """A folder under the storage root (made if missing), as a connector path."""
    folder = storage_root / name
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def post_local(api, storage_root, name: str = "Inbox", folder: str = "inbox"):
    body = {"connector_name": name, "connector_id": "local_storage",
            "connector_metadata": {"path": local(storage_root, folder)}}
    return api.post("connector/", json=body)
