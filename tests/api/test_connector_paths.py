"""Path rules of local_storage and sqlite connectors (docs/API.md, Connectors): real paths inside the allowed roots."""

from __future__ import annotations

import pytest

from tests.api.calls import errors_of, local, post_local

PATH_DIRECTORY = "Path must be an existing directory inside an allowed root."
PATH_SQLITE = "Path must be inside an allowed root and its directory must exist."


def test_local_storage_path_outside_the_roots_is_not_allowed(world, tmp_path):
    response = world.api("owner").post("connector/", json={
        "connector_name": "X", "connector_id": "local_storage",
        "connector_metadata": {"path": str(tmp_path)}})
    assert errors_of(response) == [{"code": "path_not_allowed", "detail": PATH_DIRECTORY,
                                    "attr": "connector_metadata.path"}]


def test_local_storage_symlink_escaping_the_root_is_not_allowed(world, storage_root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (storage_root / "escape").symlink_to(outside, target_is_directory=True)
    response = world.api("owner").post("connector/", json={
        "connector_name": "X", "connector_id": "local_storage",
        "connector_metadata": {"path": str(storage_root / "escape")}})
    assert errors_of(response)[0]["code"] == "path_not_allowed"


def test_local_storage_symlink_staying_inside_the_root_is_allowed(world, storage_root):
    target = storage_root / "real"
    target.mkdir()
    (storage_root / "alias").symlink_to(target, target_is_directory=True)
    response = world.api("owner").post("connector/", json={
        "connector_name": "X", "connector_id": "local_storage",
        "connector_metadata": {"path": str(storage_root / "alias")}})
    assert response.status_code == 201


@pytest.mark.parametrize("relative", ["missing", "a-file.txt", "../"])
def test_local_storage_path_must_be_an_existing_directory_inside(world, storage_root, relative):
    (storage_root / "a-file.txt").write_text("x")
    response = world.api("owner").post("connector/", json={
        "connector_name": "X", "connector_id": "local_storage",
        "connector_metadata": {"path": f"{storage_root}/{relative}"}})
    assert errors_of(response) == [{"code": "path_not_allowed", "detail": PATH_DIRECTORY,
                                    "attr": "connector_metadata.path"}]


def test_relative_path_fails_the_schema_pattern(world):
    response = world.api("owner").post("connector/", json={
        "connector_name": "X", "connector_id": "local_storage", "connector_metadata": {"path": "inbox"}})
    assert [(e["attr"], e["code"]) for e in errors_of(response)] == [("connector_metadata.path", "invalid")]


def test_storage_root_itself_is_allowed(world, storage_root):
    response = world.api("owner").post("connector/", json={
        "connector_name": "Root", "connector_id": "local_storage",
        "connector_metadata": {"path": str(storage_root)}})
    assert response.status_code == 201


def test_sqlite_directory_symlink_escaping_the_root_is_not_allowed(world, storage_root, tmp_path):
    (storage_root / "dbs").symlink_to(tmp_path, target_is_directory=True)
    response = world.api("owner").post("connector/", json={
        "connector_name": "Lite", "connector_id": "sqlite",
        "connector_metadata": {"path": str(storage_root / "dbs" / "x.db")}})
    assert errors_of(response) == [{"code": "path_not_allowed", "detail": PATH_SQLITE,
                                    "attr": "connector_metadata.path"}]


def test_patch_checks_the_path_rules_again(world, storage_root, tmp_path):
    api = world.api("owner")
    connector_id = post_local(api, storage_root).json["id"]
    response = api.patch(f"connector/{connector_id}/", json={"connector_metadata": {"path": str(tmp_path)}})
    assert errors_of(response)[0] == {"code": "path_not_allowed", "detail": PATH_DIRECTORY,
                                      "attr": "connector_metadata.path"}
    moved = api.patch(f"connector/{connector_id}/",
                      json={"connector_metadata": {"path": local(storage_root, "other")}})
    assert moved.status_code == 200 and moved.json["connector_metadata"]["path"].endswith("/other")


def test_sqlite_connector_file_need_not_exist_but_its_directory_must(world, storage_root):
    api = world.api("owner")
    path = str(storage_root / "out.db")
    response = api.post("connector/", json={"connector_name": "Lite", "connector_id": "sqlite",
                                            "connector_metadata": {"path": path}})
    assert response.status_code == 201
    assert response.json["connector_mode"] == "DATABASE"
    missing = str(storage_root / "missing" / "out.db")
    response = api.post("connector/", json={"connector_name": "Lite2", "connector_id": "sqlite",
                                            "connector_metadata": {"path": missing}})
    assert errors_of(response) == [{"code": "path_not_allowed", "detail": PATH_SQLITE,
                                    "attr": "connector_metadata.path"}]
