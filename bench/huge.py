"""Huge requests against a real `unstract serve` (docs/SECURITY.md, Bounded sizes): the web process's
memory before and after uploads, configurations and lists far above the service's bounds.

    .venv/bin/python -m bench.huge                      # ~2 min here
    .venv/bin/python -m bench.huge --upload-mb 50 --config-mb 30 --rounds 3 --json out.json

The service runs as its own process tree (`python -m unstract.cli serve --workers 1`, embedded SQLite and
Redis in a temporary data directory, removed afterwards). The bench generates its own data: a text file
of pseudo-random words (`--upload-mb`), a configuration value of the same kind (`--config-mb`), a
multipart body of `--parts` tiny parts. RSS is read from /proc/<pid>/status of the serve process (the
one that runs waitress, i.e. the web process): VmRSS a second after each phase (once its last response
has been sent and freed) and VmHWM, the peak so far.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
API = "/api/v1/unstract/default/"
SETTLE_SECONDS = 1.0  # before each reading: the last response is sent and what it held is freed
WORDS = ("invoice total amount due net gross tax customer supplier order line item quantity price "
         "paid balance account reference date delivery shipping address").split()


# --- Data ----------------------------------------------------------------------------------------

def words_text(size: int, seed: int = 7) -> bytes:
    """`size` bytes of lines of pseudo-random words (deterministic for a seed)."""
    rng, lines, total = random.Random(seed), [], 0
    while total < size:
        line = " ".join(rng.choice(WORDS) for _ in range(12)) + f" {rng.randint(0, 10**6)}\n"
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size]


def big_config(size: int) -> dict:
    """A JSON object of about `size` bytes: many small keys, as a pasted export would look."""
    text = words_text(size).decode()
    return {f"k{n}": chunk for n, chunk in enumerate(text[i:i + 1000] for i in range(0, len(text), 1000))}


def multipart(fields: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body of (name, filename or None, content) parts, and its content type."""
    boundary = uuid.uuid4().hex
    chunks = []
    for name, filename, content in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        kind = "Content-Type: text/plain\r\n" if filename else ""
        chunks.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n{kind}\r\n".encode() + content + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


# --- The service ---------------------------------------------------------------------------------

class Service:
    """`unstract serve` in its own session (killed as a group on close), and HTTP calls to it."""

    def __init__(self, data_dir: Path, env_extra: dict[str, str]):
        keep = {k: v for k, v in os.environ.items() if not k.startswith("UNSTRACT_")
                and k not in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY", "HOST", "PORT")}
        self.env = {**keep, "PYTHONPATH": str(PROJECT_ROOT), "UNSTRACT_DATA_DIR": str(data_dir),
                    "HOST": "127.0.0.1", "PORT": "0", **env_extra}
        self.process = subprocess.Popen([sys.executable, "-m", "unstract.cli", "serve", "--workers", "1"],
                                        env=self.env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        self.base = self._wait_listening()
        self.key = subprocess.run([sys.executable, "-m", "unstract.cli", "apikey", "create", "--org", "default",
                                   "--email", "admin@example.com"], env=self.env, cwd=PROJECT_ROOT,
                                  capture_output=True, text=True, check=True, timeout=120).stdout.strip()

    def _wait_listening(self) -> str:
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.process.stdout], daemon=True).start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1).strip()
            except queue.Empty:
                continue
            if match := re.fullmatch(r"Listening on (http://127\.0\.0\.1:\d+)", line):
                return match.group(1)
        raise RuntimeError("unstract serve did not start")

    def call(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json",
             timeout: float = 600) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self.key}"}
        if body is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base + API + path, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def json(self, method: str, path: str, value=None) -> tuple[int, dict]:
        status, raw = self.call(method, path, None if value is None else json.dumps(value).encode())
        return status, (json.loads(raw) if raw else {})

    def memory_mb(self) -> dict[str, float]:
        """VmRSS and VmHWM of the web process, MB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kb = {k: int(v.split()[0]) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(.*)$", status, re.M)}
        return {"rss": round(kb["VmRSS"] / 1024, 1), "peak": round(kb["VmHWM"] / 1024, 1)}

    def close(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
                self.process.wait(timeout=30)
                return
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue


# --- The run -------------------------------------------------------------------------------------

def upload_workflow(service: Service) -> str:
    """A workflow API -> API with text_extractor, made through the API."""
    status, workflow = service.json("POST", "workflow/", {"workflow_name": f"Huge {uuid.uuid4().hex[:6]}"})
    assert status == 201, workflow
    _, endpoints = service.json("GET", f"workflow/{workflow['id']}/endpoint/")
    for endpoint in endpoints["results"]:
        status, body = service.json("PATCH", f"workflow/endpoint/{endpoint['id']}/", {"connection_type": "API"})
        assert status == 200, body
    status, body = service.json("POST", "tool_instance/", {"workflow_id": workflow["id"], "tool_id": "text_extractor"})
    assert status == 201, body
    return workflow["id"]


def error_code(raw: bytes) -> str | None:
    """The first error code of an error envelope; None for any other answer."""
    try:
        return json.loads(raw)["errors"][0]["code"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def run(args) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-huge-"))
    service = Service(data_dir, {"UNSTRACT_WORKERS": "1"})
    figures: dict = {"upload_mb": args.upload_mb, "config_mb": args.config_mb, "parts": args.parts,
                     "rounds": args.rounds, "phases": []}

    def note(phase: str, **extra) -> None:
        time.sleep(SETTLE_SECONDS)
        figures["phases"].append({"phase": phase, **service.memory_mb(), **extra})
        print(json.dumps(figures["phases"][-1]), flush=True)

    try:
        workflow_id = upload_workflow(service)
        for _ in range(5):  # warm the process: first requests import and compile what lists need
            service.call("GET", "workflow/")
            service.call("GET", f"workflow/{workflow_id}/file-histories/")
        note("started")
        upload = words_text(args.upload_mb * 1024 * 1024)
        config = json.dumps({"workflow_name": "Huge config", "source_settings": big_config(
            args.config_mb * 1024 * 1024)}).encode()
        parts_body, parts_type = multipart([("workflow_id", None, workflow_id.encode())] + [
            ("files", f"{n}.txt", b"x") for n in range(args.parts)])
        for round_ in range(1, args.rounds + 1):
            body, kind = multipart([("workflow_id", None, workflow_id.encode()), ("timeout", None, b"300"),
                                    ("files", f"huge-{round_}.txt", upload)])
            started = time.monotonic()
            status, raw = service.call("POST", "workflow/execute/", body, kind)
            run_ = json.loads(raw)
            note(f"upload {round_}", status=status, execution_status=run_.get("execution_status"),
                 seconds=round(time.monotonic() - started, 1), response_bytes=len(raw))
            execution_id = run_["execution_id"]
            sizes = {}
            for path in (f"workflow/execution/{execution_id}/files/", f"workflow/{workflow_id}/file-histories/"):
                for _ in range(10):
                    status, raw = service.call("GET", path)
                sizes[path.split("/")[-2]] = len(raw)
            _, histories = service.json("GET", f"workflow/{workflow_id}/file-histories/")
            status, raw = service.call("GET", f"workflow/{workflow_id}/file-histories/{histories['results'][0]['id']}/")
            sizes["one history row"] = len(raw)
            note(f"lists {round_}", response_bytes=sizes)
            status, raw = service.call("POST", "workflow/", config)
            for _ in range(10):
                service.call("GET", "workflow/")
            note(f"config {round_}", status=status, answer=error_code(raw))
            status, raw = service.call("POST", "workflow/execute/", parts_body, parts_type)
            note(f"parts {round_}", status=status, answer=error_code(raw))
    finally:
        service.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upload-mb", type=int, default=50, help="size of the uploaded text file (MB)")
    parser.add_argument("--config-mb", type=int, default=30, help="size of the source_settings sent (MB)")
    parser.add_argument("--parts", type=int, default=5000, help="parts of the multipart body sent")
    parser.add_argument("--rounds", type=int, default=3, help="times each huge request is sent")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    figures = run(args)
    phases = figures["phases"]
    print(f"web process RSS: {phases[0]['rss']} MB before, {phases[-1]['rss']} MB after; "
          f"peak {phases[-1]['peak']} MB")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
