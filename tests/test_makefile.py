"""The Makefile's install logic, dry-run (`make -n`) on a copy: `make run` installs the runtime dependencies only,
`make test` / `test-fast` / `lint` the dev extras too, one stamp per install kind."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import outside_make

REPO = Path(__file__).resolve().parent.parent
RUNTIME = "--config-settings editable_mode=compat -e ."
DEV = "--config-settings editable_mode=compat -e '.[dev]'"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


@pytest.fixture
def checkout(tmp_path):
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    return tmp_path


def dry(checkout: Path, *goal: str) -> str:
    done = subprocess.run(["make", "-n", *goal], cwd=checkout, capture_output=True, text=True, timeout=60,
                          env=outside_make())
    assert done.returncode == 0, done.stderr
    return done.stdout


def installed(checkout: Path, *stamps: str) -> None:
    """A venv whose interpreter exists and whose stamps are newer than pyproject.toml."""
    (checkout / ".venv" / "bin").mkdir(parents=True, exist_ok=True)
    (checkout / ".venv" / "bin" / "python").touch()
    later = time.time() + 10
    for stamp in stamps:
        path = checkout / ".venv" / stamp
        path.touch()
        os.utime(path, (later, later))


def test_a_fresh_make_run_installs_the_runtime_dependencies_only_then_serves(checkout):
    said = dry(checkout, "run")
    assert RUNTIME in said and "[dev]" not in said
    assert "--quiet" in said
    assert said.splitlines()[-1] == ".venv/bin/unstract serve"


@pytest.mark.parametrize("goal", ["test", "test-fast", "lint"])
def test_the_test_and_lint_goals_install_the_dev_extras(checkout, goal):
    assert DEV in dry(checkout, goal)


def test_make_test_after_make_run_adds_the_dev_extras(checkout):
    installed(checkout, ".installed-run")
    assert "pip" not in dry(checkout, "run")
    said = dry(checkout, "test")
    assert DEV in said and "touch .venv/.installed-dev .venv/.installed-run" in said


def test_make_run_after_make_test_installs_nothing(checkout):
    installed(checkout, ".installed-run", ".installed-dev")
    assert dry(checkout, "run").splitlines() == [".venv/bin/unstract serve"]
    assert "pip" not in dry(checkout, "test-fast")


def test_a_changed_pyproject_reinstalls(checkout):
    installed(checkout, ".installed-run", ".installed-dev")
    later = time.time() + 20
    os.utime(checkout / "pyproject.toml", (later, later))
    assert RUNTIME in dry(checkout, "run")
    assert DEV in dry(checkout, "lint")
