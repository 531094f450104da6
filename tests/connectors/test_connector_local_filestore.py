"""LocalFileStore on real files: listing walks, confined reads and the atomic destination write."""

import hashlib
import json
import os
import tracemalloc
import types
from datetime import UTC

import pytest

from unstract.connectors.filestore import (
    ConnectorError,
    FileEntry,
    LocalFileStore,
    PathEscapeError,
)
from unstract.connectors.registry import open_file_store


@pytest.fixture()
def root(tmp_path):
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "top.pdf").write_bytes(b"top")
    (root / "a" / "mid.txt").write_bytes(b"mid")
    (root / "a" / "b" / "deep.txt").write_bytes(b"deep")
    return root


@pytest.fixture()
def outside(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    return outside


def paths(entries):
    return sorted(entry.path for entry in entries)


def test_walk_non_recursive_lists_direct_children_only(root):
    assert paths(LocalFileStore(str(root)).walk("", recursive=False)) == ["top.pdf"]
    assert paths(LocalFileStore(str(root)).walk("a", recursive=False)) == ["a/mid.txt"]


def test_walk_recursive_lists_every_level_with_root_relative_paths(root):
    assert paths(LocalFileStore(str(root)).walk("", recursive=True)) == [
        "a/b/deep.txt",
        "a/mid.txt",
        "top.pdf",
    ]
    assert paths(LocalFileStore(str(root)).walk("/a/", recursive=True)) == ["a/b/deep.txt", "a/mid.txt"]


def test_walk_stops_ten_directory_levels_below_the_folder(tmp_path):
    current = tmp_path
    for level in range(13):
        (current / f"f{level}.txt").write_text(str(level))
        current = current / f"d{level}"
        current.mkdir()
    found = paths(LocalFileStore(str(tmp_path)).walk("", recursive=True))
    assert len(found) == 11
    assert max(p.count("/") for p in found) == 10
    assert all(not p.endswith(("f11.txt", "f12.txt")) for p in found)
    assert len(list(LocalFileStore(str(tmp_path)).walk("", recursive=True, max_depth=2))) == 3


def test_walk_reports_size_utc_mtime_and_no_etag(root):
    (root / "empty.txt").write_bytes(b"")
    entries = {entry.path: entry for entry in LocalFileStore(str(root)).walk("", recursive=False)}
    assert entries["empty.txt"].size == 0
    assert entries["top.pdf"].size == 3
    assert entries["top.pdf"].mtime.tzinfo is UTC
    assert entries["top.pdf"].mtime.timestamp() == pytest.approx(os.stat(root / "top.pdf").st_mtime)
    assert entries["top.pdf"].etag is None


def test_walk_returns_hidden_files_and_descends_hidden_directories(root):
    (root / ".hidden.txt").write_text("h")
    (root / ".git").mkdir()
    (root / ".git" / "config.txt").write_text("c")
    assert {".hidden.txt", ".git/config.txt"} <= set(
        paths(LocalFileStore(str(root)).walk("", recursive=True))
    )


def test_walk_skips_symlinks_out_and_never_descends_linked_directories(root, outside):
    (root / "out-file.txt").symlink_to(outside / "secret.txt")
    (root / "out-dir").symlink_to(outside)
    (root / "in-dir").symlink_to(root / "a")
    (root / "in-file.txt").symlink_to(root / "a" / "mid.txt")
    (root / "dangling.txt").symlink_to(root / "missing.txt")
    found = paths(LocalFileStore(str(root)).walk("", recursive=True))
    assert found == ["a/b/deep.txt", "a/mid.txt", "in-file.txt", "top.pdf"]


def test_walk_skips_non_regular_files(root):
    os.mkfifo(root / "pipe.txt")
    assert "pipe.txt" not in paths(LocalFileStore(str(root)).walk("", recursive=False))


def test_walk_skips_names_that_are_not_utf8(root):
    with open(os.path.join(bytes(root), b"bad-\xff.txt"), "wb") as handle:
        handle.write(b"x")
    assert paths(LocalFileStore(str(root)).walk("", recursive=False)) == ["top.pdf"]


def test_walk_of_folder_linked_outside_is_refused(root, outside):
    (root / "out-dir").symlink_to(outside)
    store = LocalFileStore(str(root))
    with pytest.raises(PathEscapeError):
        list(store.walk("out-dir", recursive=True))
    with pytest.raises(PathEscapeError):
        list(store.walk("../outside", recursive=True))


def test_walk_of_missing_folder_raises_connector_error(root):
    with pytest.raises(ConnectorError, match="cannot list 'nope'"):
        list(LocalFileStore(str(root)).walk("nope", recursive=True))


def test_walk_is_lazy_and_memory_stays_flat(tmp_path):
    for index in range(20_000):
        (tmp_path / f"{index}.txt").touch()
    walker = LocalFileStore(str(tmp_path)).walk("", recursive=True)
    assert isinstance(walker, types.GeneratorType)
    tracemalloc.start()
    try:
        count = sum(1 for _ in walker)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert peak < 1_000_000, f"walk peaked at {peak} bytes for 20k files"


def test_is_dir_follows_the_root_rules(root, outside):
    (root / "out-dir").symlink_to(outside)
    store = LocalFileStore(str(root))
    assert store.is_dir("") and store.is_dir("/") and store.is_dir("a/b/")
    assert not store.is_dir("missing")
    assert not store.is_dir("top.pdf")
    assert not store.is_dir("out-dir")
    assert not store.is_dir("../outside")


def test_open_read_and_read_bytes_stream_the_file(root):
    store = LocalFileStore(str(root))
    with store.open_read("a/b/deep.txt") as handle:
        assert handle.read(2) == b"de"
        assert handle.read() == b"ep"
    assert store.read_bytes("top.pdf") == b"top"


@pytest.mark.parametrize(
    "bad", ["../outside/secret.txt", "a/../../outside/secret.txt", "/etc/passwd", "x\x00y"]
)
def test_open_read_rejects_paths_leaving_the_root(root, outside, bad):
    with pytest.raises(PathEscapeError):
        LocalFileStore(str(root)).open_read(bad)


def test_open_read_rejects_symlink_to_outside(root, outside):
    (root / "link.txt").symlink_to(outside / "secret.txt")
    with pytest.raises(PathEscapeError, match="path escapes the connector root."):
        LocalFileStore(str(root)).read_bytes("link.txt")


def test_open_read_missing_file_raises_file_not_found(root):
    with pytest.raises(FileNotFoundError):
        LocalFileStore(str(root)).open_read("a/missing.txt")


def test_open_read_refuses_directories(root):
    with pytest.raises(ConnectorError, match="not a regular file"):
        LocalFileStore(str(root)).open_read("a")


def test_sha256_and_size_stream_large_and_empty_files(root):
    data = os.urandom(3 * 1024 * 1024 + 17)
    (root / "big.bin").write_bytes(data)
    (root / "empty.txt").write_bytes(b"")
    store = LocalFileStore(str(root))
    assert store.sha256_and_size("big.bin") == (hashlib.sha256(data).hexdigest(), len(data))
    assert store.sha256_and_size("empty.txt") == (hashlib.sha256(b"").hexdigest(), 0)


def test_write_json_atomic_writes_exact_content_and_leaves_no_temp_file(root):
    store = LocalFileStore(str(root))
    payload = {"name": "Zoë", "items": [1, 2], "nested": {"ok": True}}
    target = store.write_json_atomic("out/invoices/2026/inv-1.pdf.json", payload, "0b6e-42")
    assert target == str(root / "out" / "invoices" / "2026" / "inv-1.pdf.json")
    raw = (root / "out" / "invoices" / "2026" / "inv-1.pdf.json").read_bytes()
    assert raw == (json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    assert "Zoë".encode() in raw
    assert json.loads(raw) == payload
    assert os.listdir(root / "out" / "invoices" / "2026") == ["inv-1.pdf.json"]


def test_write_json_atomic_replaces_an_existing_target(root):
    store = LocalFileStore(str(root))
    store.write_json_atomic("out/x.json", {"v": 1, "long": "x" * 1000}, "first")
    store.write_json_atomic("out/x.json", {"v": 2}, "second")
    assert json.loads((root / "out" / "x.json").read_text()) == {"v": 2}
    assert os.listdir(root / "out") == ["x.json"]


def test_write_json_atomic_overwrites_a_stale_temp_file(root):
    (root / "out").mkdir()
    (root / "out" / "x.json.fe1.tmp").write_text("stale")
    LocalFileStore(str(root)).write_json_atomic("out/x.json", {"v": 1}, "fe1")
    assert os.listdir(root / "out") == ["x.json"]


@pytest.mark.parametrize("bad", ["../escaped.json", "out/../../escaped.json", "/tmp/abs.json"])
def test_write_json_atomic_rejects_paths_leaving_the_root(root, bad):
    with pytest.raises(PathEscapeError, match="path escapes the connector root."):
        LocalFileStore(str(root)).write_json_atomic(bad, {}, "s")
    assert not (root.parent / "escaped.json").exists()


def test_write_json_atomic_never_creates_anything_through_a_symlink_out(root, outside):
    (root / "out").symlink_to(outside)
    with pytest.raises(PathEscapeError, match="path escapes the connector root."):
        LocalFileStore(str(root)).write_json_atomic("out/new/x.json", {}, "s")
    assert sorted(os.listdir(outside)) == ["secret.txt"]


def test_write_json_atomic_rejects_a_target_symlinked_outside(root, outside):
    (root / "x.json").symlink_to(outside / "secret.txt")
    with pytest.raises(PathEscapeError):
        LocalFileStore(str(root)).write_json_atomic("x.json", {}, "s")
    assert (outside / "secret.txt").read_text() == "secret"


def test_write_json_atomic_refuses_unsafe_suffix(root):
    with pytest.raises(ValueError):
        LocalFileStore(str(root)).write_json_atomic("x.json", {}, "../x")


def test_write_json_atomic_reports_io_failure_as_connector_error(root):
    (root / "blocker").write_text("a file, not a directory")
    with pytest.raises(ConnectorError, match="cannot write 'blocker/x.json'"):
        LocalFileStore(str(root)).write_json_atomic("blocker/x.json", {}, "s")


def test_open_file_store_rechecks_the_local_root_rule(root, outside):
    store = open_file_store("local_storage", {"path": str(root / "a")}, [str(root)])
    assert isinstance(store, LocalFileStore)
    assert [e.path for e in store.walk("", recursive=False)] == ["mid.txt"]
    with pytest.raises(ConnectorError, match="not an existing directory inside an allowed root"):
        open_file_store("local_storage", {"path": str(outside)}, [str(root)])
    with pytest.raises(ConnectorError, match="is not a file store"):
        open_file_store("sqlite", {"path": str(root / "x.db")}, [str(root)])


def test_file_entry_is_a_plain_value():
    assert FileEntry("a.txt", 1, None) == FileEntry("a.txt", 1, None, None)
