"""Real `unstract worker` processes for fault and concurrency tests, and the slow workflow they run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from tests.factories import add_tool, configure, make_connector, make_workflow
from unstract.extensions import db
from unstract.models import FileExecution, Organization

# `^(a+)+$` backtracks exponentially on "a"*24 + "!": about a second of real work per file, a window
# wide enough to kill a worker in the middle of one. The regex holds the GIL, so the lease (4 s here)
# must outlast one file or the heartbeat cannot renew it in time.
SLOW_RULE = {"name": "slow", "pattern": r"^(a+)+$", "group": 0}
SLOW_TEXT = "a" * 24 + "!\n"


def worker_env(base_env: dict, **overrides) -> dict:
    env = {**os.environ, **base_env, "UNSTRACT_FILE_LEASE_SECONDS": "2", "UNSTRACT_REAP_INTERVAL_SECONDS": "1",
           **{k: str(v) for k, v in overrides.items()}}
    env.pop("WERKZEUG_RUN_MAIN", None)
    return env


def start_worker(env: dict, log_dir: Path, name: str) -> subprocess.Popen:
    unstract = Path(sys.executable).parent / "unstract"
    log = open(log_dir / f"{name}.log", "wb")
    return subprocess.Popen([str(unstract), "worker"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


@contextmanager
def workers(base_env: dict, log_dir: Path, count: int = 2, **overrides):
    """`count` forked worker processes; all are killed on exit whatever happened."""
    env = worker_env(base_env, **overrides)
    processes = [start_worker(env, log_dir, f"worker-{n}") for n in range(count)]
    try:
        yield processes
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{worker_logs(log_dir)}") from None
    finally:
        for process in processes:
            # The whole process group: RQ's scheduler runs in a child process of each worker.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)


def worker_logs(log_dir: Path) -> str:
    """The last lines of every worker's log, for a failure message."""
    parts = []
    for log in sorted(log_dir.glob("worker-*.log")):
        lines = log.read_text(errors="replace").splitlines()
        parts.append(f"--- {log.name}\n" + "\n".join(lines[-40:]))
    return "\n".join(parts)


def describe_runs() -> str:
    """Executions and their file statuses, for a failure message."""
    from unstract.models import Execution, FileExecution

    lines = []
    for execution in db.session.scalars(db.select(Execution)):
        statuses = db.session.scalars(db.select(FileExecution.status).where(
            FileExecution.execution_id == execution.id)).all()
        lines.append(f"{execution.id} {execution.status}/{execution.phase} attempts={execution.attempts} "
                     f"files={sorted(statuses)} error={execution.error_message!r}")
    return "\n".join(lines)


def wait_until(predicate, timeout: float, interval: float = 0.2):
    """Poll `predicate` (with a fresh DB snapshot each time) until truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s\n{describe_runs()}")


def slow_folder_workflow(world, storage_root, files: int, *, slow: bool = True) -> str:
    """A folder-to-folder workflow of acme over `files` documents, each about a second of work when `slow`."""
    acme = db.session.scalar(db.select(Organization).where(Organization.org_id == "acme"))
    (storage_root / "in").mkdir(exist_ok=True)
    for n in range(files):
        (storage_root / "in" / f"doc-{n:03d}.txt").write_text(f"{SLOW_TEXT if slow else ''}document {n}\n")
    connector = make_connector(acme.id, "Local", "local_storage", {"path": str(storage_root)})
    workflow = make_workflow(world.users["owner"], acme)
    configure(workflow, "SOURCE", "FILESYSTEM", connector, folders=["in"], maxFiles=1000)
    configure(workflow, "DESTINATION", "FILESYSTEM", connector, outputFolder="out")
    add_tool(workflow, "field_extractor", rules=[SLOW_RULE] if slow else [{"name": "n", "pattern": r"\d+"}])
    return str(workflow.id)


def file_executions(execution_id) -> list[FileExecution]:
    return db.session.scalars(db.select(FileExecution).where(FileExecution.execution_id == execution_id)).all()
