"""The repository explains itself: no file of ours points to the brief it was built from (kept in a folder
beside the checkout) or to numbered sections of documents the repository does not hold."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OURS = ("unstract", "templates", "static", "migrations", "tests", "docs", "bench", ".ci")
TOP_LEVEL = ("README.md", "Makefile", "pyproject.toml", "wsgi.py", ".gitignore")
VENDORED = ("static/swagger-ui/swagger-ui-bundle.js", "static/swagger-ui/swagger-ui.css", "static/vendor/htmx.min.js")
# Built from parts so that this file does not match itself.
OUTSIDE = re.compile("|".join([re.escape("../" + "shared"), re.escape("API" + "-2.md"), "\u00a7"]))


def our_text_files() -> list[Path]:
    files = [REPO / name for name in TOP_LEVEL]
    for folder in OURS:
        files += [path for path in (REPO / folder).rglob("*") if path.is_file() and "__pycache__" not in path.parts]
    return [path for path in files
            if path.suffix not in (".png", ".pdf", ".jpg", ".db", ".pyc")
            and path.relative_to(REPO).as_posix() not in VENDORED]


def test_no_file_points_to_documents_outside_the_repository():
    found = []
    for path in our_text_files():
        text = path.read_text(errors="replace")
        found += [f"{path.relative_to(REPO)}: {match.group(0)!r}" for match in OUTSIDE.finditer(text)]
    assert found == []


def test_the_check_sees_the_files_it_should():
    names = {path.relative_to(REPO).as_posix() for path in our_text_files()}
    assert {"README.md", "static/app.js", "unstract/metrics.py", "docs/API.md", ".ci/run"} <= names
    assert not names & set(VENDORED)
