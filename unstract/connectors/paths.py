"""Path rules of connectors: resolved real paths must stay inside the allowed roots (docs/API.md, Connectors)."""

import os

from unstract.connectors.errors import PathEscapeError

__all__ = [
    "PathEscapeError",
    "check_local_storage_path",
    "check_sqlite_path",
    "is_inside",
    "resolve_inside_roots",
    "within_roots",
]


def is_inside(path: str, root: str) -> bool:
    """Tell whether an already-resolved path equals or lies below an already-resolved root."""
    if path == root:
        return True
    prefix = root if root.endswith(os.sep) else root + os.sep
    return path.startswith(prefix)


def _realpath(path: str) -> str | None:
    """Resolve symlinks; None for values the OS cannot take (NUL bytes, wrong type)."""
    if not isinstance(path, str) or not path or "\x00" in path:
        return None
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return None


def resolve_inside_roots(path: str, roots: list[str]) -> str | None:
    """Return the real path when it equals or lies inside one of the resolved roots, else None."""
    real = _realpath(path)
    if real is None:
        return None
    for root in roots:
        real_root = _realpath(root)
        if real_root is not None and os.path.isabs(root) and is_inside(real, real_root):
            return real
    return None


def check_local_storage_path(path: str, roots: list[str]) -> bool:
    """A local_storage root must be absolute and resolve to an existing directory inside a root."""
    if not isinstance(path, str) or not os.path.isabs(path):
        return False
    real = resolve_inside_roots(path, roots)
    return real is not None and os.path.isdir(real)


def check_sqlite_path(path: str, roots: list[str]) -> bool:
    """A SQLite file must be absolute with its parent directory resolving to an existing one inside a root."""
    if not isinstance(path, str) or not os.path.isabs(path):
        return False
    parent, name = os.path.split(path)
    if name in ("", ".", ".."):
        return False
    real_parent = resolve_inside_roots(parent, roots)
    return real_parent is not None and os.path.isdir(real_parent)


def within_roots(path: str, roots: list[str], check) -> str:
    """An absolute path for what a person typed: absolute stays as is; relative is joined to the first root
    for which `check(joined, roots)` holds (else to the first root, so the caller's check names the problem).

    Joining never widens what is allowed: the result still goes through `check`, whose real-path test keeps
    `../` and symbolic links from leaving the roots.
    """
    if not isinstance(path, str) or not path.strip() or os.path.isabs(path) or not roots:
        return path
    candidates = [os.path.normpath(os.path.join(root, path.strip())) for root in roots]
    return next((candidate for candidate in candidates if check(candidate, roots)), candidates[0])
