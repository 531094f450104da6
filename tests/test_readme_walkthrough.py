"""README walk-through: every shell block of README.md is run, as a newcomer would, and its outcome checked.

Each ```sh block of the README is preceded by a marker comment saying how it is run:

    <!-- readme-test: make -->            each line is a `make` call: checked with `make -n` (nothing installed)
    <!-- readme-test: walkthrough NAME --> run, in README order, in one shell against a started service

The service is started the way the README says (`make run` is `unstract serve`, the port from PORT) on a free
port, from a scratch directory that holds `.venv` (a link to this one) and gets its own `./instance`. The
README's `127.0.0.1:5000` becomes that port. Ctrl-C (SIGINT) then stops it, as the README says.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving import Served, serve_env
from tests.support import outside_make

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
MARKED_BLOCK = re.compile(r"<!-- readme-test: (\w+)(?: ([\w-]+))? -->\n```sh\n(.*?)```", re.S)
ANY_SHELL_BLOCK = re.compile(r"^```(?:sh|bash|shell|console)\s*$", re.M)
DOCUMENTED_ADDRESS = "127.0.0.1:5000"
SEPARATOR = "@@readme-block {}@@"


def readme_blocks() -> list[tuple[str, str, str]]:
    """(kind, name, code) of every marked shell block, in README order."""
    return [(kind, name or "", code) for kind, name, code in MARKED_BLOCK.findall(README.read_text())]


def test_every_shell_block_of_the_readme_is_marked_for_this_test():
    blocks = readme_blocks()
    assert len(blocks) == len(ANY_SHELL_BLOCK.findall(README.read_text())), "a shell block without a marker"
    assert {kind for kind, _, _ in blocks} == {"make", "walkthrough"}
    names = [name for kind, name, _ in blocks if kind == "walkthrough"]
    assert len(names) == len(set(names)) and all(names)


def test_the_readme_mentions_no_file_outside_the_repository():
    text = README.read_text()
    assert "../" not in text and "shared project folder" not in text
    for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not link.startswith(("http://", "https://")):
            assert (REPO / link).exists(), link


def _make_lines() -> list[list[str]]:
    lines = []
    for kind, _, code in readme_blocks():
        if kind == "make":
            lines += [shlex.split(line, comments=True) for line in code.splitlines() if line.strip()]
    return lines


def test_the_documented_make_commands_exist_and_make_run_serves():
    lines = _make_lines()
    assert lines and all(words[0] == "make" for words in lines)
    for words in lines:
        dry = subprocess.run([*words[:1], "-n", *words[1:]], cwd=REPO, capture_output=True, text=True, timeout=60,
                             env=outside_make())
        assert dry.returncode == 0, (words, dry.stderr)
        if words[1] == "run":
            assert dry.stdout.splitlines()[-1] == ".venv/bin/unstract serve", dry.stdout
    assert ["make", "run", "PORT=8080"] in lines  # how to choose the port


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _script(port: int) -> str:
    """The walk-through blocks in README order, each announced by a separator line on stdout."""
    parts = ["set -eu"]
    for kind, name, code in readme_blocks():
        if kind == "walkthrough":
            parts += [f"echo; echo '{SEPARATOR.format(name)}'", code.replace(DOCUMENTED_ADDRESS, f"127.0.0.1:{port}")]
    return "\n".join(parts) + "\n"


def _outputs(stdout: str) -> dict[str, str]:
    """Block name -> what it printed."""
    pieces = re.split(r"^" + re.escape(SEPARATOR).replace(r"\{\}", r"(\S+)") + "$", stdout, flags=re.M)
    return {name: text.strip() for name, text in zip(pieces[1::2], pieces[2::2], strict=True)}


def _json_values(text: str) -> list:
    """The JSON values of a block's output (curl prints them back to back, maybe without newlines)."""
    decoder, values, index = json.JSONDecoder(), [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        value, index = decoder.raw_decode(text, index)
        values.append(value)
    return values


@pytest.fixture
def scratch(tmp_path):
    """The repository root as the walk-through sees it: `.venv` and an empty `./instance` to be created."""
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    return tmp_path


def test_the_readme_walkthrough_runs_against_a_started_service(scratch):
    port = _free_port()
    env = serve_env(scratch / "instance", PORT=str(port))
    del env["UNSTRACT_DATA_DIR"]  # the default, ./instance, as after `make run`
    served = Served(env, workers=2, cwd=scratch)
    try:
        assert served.base_url == f"http://127.0.0.1:{port}"
        assert any(line.startswith("Admin password for admin@example.com: ") for line in served.lines)
        shell_env = {k: v for k, v in env.items() if k != "PORT"}
        run = subprocess.run(["bash", "-c", _script(port)], cwd=scratch, env=shell_env, capture_output=True,
                             text=True, timeout=400)
        assert run.returncode == 0, (run.stdout, run.stderr)
        check_outputs(_outputs(run.stdout), scratch)
    finally:
        served.process.send_signal(signal.SIGINT)  # Ctrl-C, as the README says
        code = served.process.wait(timeout=60)
    assert code == 0
    assert served.output()[-1] == "Stopped."


def check_outputs(out: dict[str, str], root: Path) -> None:
    assert out["key"] == ""
    listed = _json_values(out["list"])[0]
    assert listed["count"] == 2
    assert {row["workflow_name"] for row in listed["results"]} == {"Demo workflow", "Invoice extraction"}
    created, found = _json_values(out["create"])
    assert created["workflow_name"] == "Invoices" and created["description"] == "My first workflow"
    assert found["count"] == 1 and found["results"][0]["id"] == created["id"]
    (demo_run,) = _json_values(out["demo"])
    assert demo_run["execution_status"] == "COMPLETED" and demo_run["error"] is None
    execution, logs, written = _json_values(out["inspect"])
    assert execution["id"] == demo_run["execution_id"] and execution["status"] == "COMPLETED"
    assert (execution["total_files"], execution["successful_files"], execution["failed_files"]) == (3, 3, 0)
    assert logs["count"] > 0 and all(row["data"]["level"] == "INFO" for row in logs["results"])
    assert written == {"invoice_number": "INV-1001", "total": 1250.5}
    assert _json_values(out["clear"]) == [{"message": "File marker cleared successfully.", "deleted_count": 3}]
    assert out["folder"] == "" and out["setup"] == ""
    source, destination, tool = _json_values(out["configure"])
    assert (source["endpoint_type"], source["connection_type"]) == ("SOURCE", "FILESYSTEM")
    assert destination["configuration"]["outputFolder"] == "results"
    assert source["connector_instance"]["connector_name"] == "My invoices" and tool["tool_id"] == "text_extractor"
    answer, listing = out["run"].split("\n", 1) if "\n" in out["run"] else (out["run"], "")
    (folder_run,) = _json_values(answer)
    assert folder_run["execution_status"] == "COMPLETED"
    names = ["invoice-1001.pdf.json", "invoice-1002.txt.json", "meeting-notes.md.json"]
    assert listing.split() == names
    results = root / "instance" / "storage" / "invoices" / "results"
    text = json.loads((results / "invoice-1002.txt.json").read_text())
    assert "INV-1002" in text["text"] and text["mime_type"] == "text/plain"
    assert json.loads((results / "invoice-1001.pdf.json").read_text())["mime_type"] == "application/pdf"
