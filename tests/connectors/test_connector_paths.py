"""Path rules of connectors: realpath (symlinks followed) must stay inside an allowed root."""

import os

import pytest

from unstract.connectors.paths import check_local_storage_path, check_sqlite_path, resolve_inside_roots


@pytest.fixture()
def layout(tmp_path):
    """An allowed root with a subdirectory, a sibling with a shared name prefix and an outside dir."""
    root = tmp_path / "root"
    (root / "inbox").mkdir(parents=True)
    (root / "file.txt").write_text("x")
    (tmp_path / "root2").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "escape").symlink_to(outside)
    (root / "alias").symlink_to(root / "inbox")
    return root, outside


def test_resolve_accepts_root_itself_and_paths_inside(layout):
    root, _ = layout
    assert resolve_inside_roots(str(root), [str(root)]) == str(root)
    assert resolve_inside_roots(str(root / "inbox"), [str(root)]) == str(root / "inbox")


def test_resolve_follows_symlinks_to_their_real_target(layout):
    root, _ = layout
    assert resolve_inside_roots(str(root / "alias"), [str(root)]) == str(root / "inbox")


def test_resolve_rejects_symlink_pointing_outside(layout):
    root, _ = layout
    assert resolve_inside_roots(str(root / "escape"), [str(root)]) is None
    assert resolve_inside_roots(str(root / "escape" / "x"), [str(root)]) is None


def test_resolve_rejects_dotdot_escape_and_sibling_with_same_prefix(layout):
    root, _ = layout
    assert resolve_inside_roots(str(root / ".." / "outside"), [str(root)]) is None
    assert resolve_inside_roots(str(root.parent / "root2"), [str(root)]) is None
    assert resolve_inside_roots(str(root / "inbox" / ".." / "file.txt"), [str(root)]) == str(
        root / "file.txt"
    )


def test_resolve_checks_every_root_and_resolves_symlinked_roots(layout, tmp_path):
    root, outside = layout
    link_root = tmp_path / "link-root"
    link_root.symlink_to(root)
    assert resolve_inside_roots(str(root / "inbox"), [str(outside), str(link_root)]) == str(root / "inbox")
    assert resolve_inside_roots(str(root / "inbox"), []) is None


def test_resolve_ignores_relative_roots_and_bad_values(layout, monkeypatch):
    root, _ = layout
    monkeypatch.chdir(root.parent)
    assert resolve_inside_roots(str(root / "inbox"), ["root"]) is None
    assert resolve_inside_roots("", [str(root)]) is None
    assert resolve_inside_roots(str(root) + "/\x00", [str(root)]) is None


def test_local_storage_path_must_be_absolute_existing_directory_inside_root(layout):
    root, outside = layout
    roots = [str(root)]
    assert check_local_storage_path(str(root / "inbox"), roots) is True
    assert check_local_storage_path(str(root / "alias"), roots) is True
    assert check_local_storage_path("root/inbox", roots) is False
    assert check_local_storage_path(str(root / "missing"), roots) is False
    assert check_local_storage_path(str(root / "file.txt"), roots) is False
    assert check_local_storage_path(str(root / "escape"), roots) is False
    assert check_local_storage_path(str(outside), roots) is False


def test_sqlite_path_needs_existing_parent_inside_root(layout):
    root, outside = layout
    roots = [str(root)]
    assert check_sqlite_path(str(root / "out.db"), roots) is True
    assert check_sqlite_path(str(root / "inbox" / "out.db"), roots) is True
    assert check_sqlite_path(str(root / "missing" / "out.db"), roots) is False
    assert check_sqlite_path(str(root / "escape" / "out.db"), roots) is False
    assert check_sqlite_path(str(outside / "out.db"), roots) is False
    assert check_sqlite_path("out.db", roots) is False
    assert check_sqlite_path(str(root / "inbox") + os.sep, roots) is False
