"""API deployments: a one-file synchronous deployment call against the same call through
`POST workflow/execute/` (median, p99), then N concurrent deployment clients for a while (requests/s,
p99, errors, executions completed). docs/PERFORMANCE.md, "API deployments".

Starts a real `unstract serve` (SQLite and its embedded Redis in a temporary directory, 2 workers).
`.venv/bin/python -m bench.deployments [--calls 200] [--clients 16] [--seconds 60] [--json FILE]`
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

INVOICE = b"ACME Corp\nInvoice Number: INV-1001\nTotal: $1,250.50\n"
RULES = [{"name": "invoice_number", "pattern": r"Invoice Number:\s*([A-Z0-9-]+)", "group": 1}]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def start_service(data_dir: Path, workers: int) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNSTRACT_")
           and k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(UNSTRACT_DATA_DIR=str(data_dir), HOST="127.0.0.1", PORT="0",
               UNSTRACT_DEPLOYMENT_RATE_LIMIT="1000000/second", UNSTRACT_MAX_PENDING_EXECUTIONS="100000")
    script = Path(sys.executable).with_name("unstract")
    process = subprocess.Popen([str(script), "serve", "--workers", str(workers)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if match := re.fullmatch(r"Listening on (http://\S+)", line.strip()):
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return process, match.group(1)
    raise SystemExit("serve did not start")


def org_key(data_dir: Path) -> str:
    env = {**os.environ, "UNSTRACT_DATA_DIR": str(data_dir)}
    script = Path(sys.executable).with_name("unstract")
    return subprocess.run([str(script), "apikey", "create", "--org", "default", "--email", "admin@example.com"],
                          env=env, capture_output=True, text=True, check=True).stdout.strip()


def set_up(base: str, key: str) -> tuple[str, str]:
    """An API workflow with one field_extractor step, deployed as `bench`: (workflow id, deployment key)."""
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {key}"
    org = f"{base}/api/v1/unstract/default/"
    workflow = api.post(org + "workflow/", json={"workflow_name": "Bench API"}).json()
    for endpoint in api.get(f"{org}workflow/{workflow['id']}/endpoint/").json()["results"]:
        api.patch(f"{org}workflow/endpoint/{endpoint['id']}/", json={"connection_type": "API"}).raise_for_status()
    api.post(org + "tool_instance/", json={"workflow_id": workflow["id"], "tool_id": "field_extractor",
                                           "metadata": {"rules": RULES}}).raise_for_status()
    deployment = api.post(org + "api-deployment/", json={"display_name": "Bench", "api_name": "bench",
                                                         "workflow": workflow["id"]}).json()
    deployment_key = api.post(f"{org}api-deployment/{deployment['id']}/keys/", json={}).json()["key"]
    return workflow["id"], deployment_key


def timed(call) -> tuple[float, int]:
    started = time.perf_counter()
    status = call()
    return (time.perf_counter() - started) * 1000, status


def sequential(base: str, key: str, workflow_id: str, deployment_key: str, calls: int) -> dict:
    """Alternate the two routes so both see the same machine state."""
    session = requests.Session()
    deploy_url = f"{base}/deployment/api/default/bench/"
    execute_url = f"{base}/api/v1/unstract/default/workflow/execute/"

    def deploy() -> int:
        return session.post(deploy_url, headers={"Authorization": f"Bearer {deployment_key}"},
                            files=[("files", ("inv.txt", INVOICE))], data={"timeout": "60"}).status_code

    def execute() -> int:
        return session.post(execute_url, headers={"Authorization": f"Bearer {key}"},
                            files=[("files", ("inv.txt", INVOICE))],
                            data={"workflow_id": workflow_id, "timeout": "60"}).status_code

    times: dict[str, list[float]] = {"deployment": [], "execute": []}
    statuses: dict[str, dict] = {"deployment": {}, "execute": {}}
    for _ in range(5):  # warm both paths
        deploy(), execute()
    for _ in range(calls):
        for name, call in (("deployment", deploy), ("execute", execute)):
            ms, status = timed(call)
            times[name].append(ms)
            statuses[name][status] = statuses[name].get(status, 0) + 1
    return {name: {"calls": calls, "median_ms": round(statistics.median(values), 1),
                   "p99_ms": round(percentile(values, 0.99), 1), "statuses": statuses[name]}
            for name, values in times.items()}


def concurrent(base: str, deployment_key: str, clients: int, seconds: float) -> dict:
    deploy_url = f"{base}/deployment/api/default/bench/"
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    statuses: dict = {}
    execution_ids: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        session = requests.Session()
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                answer = session.post(deploy_url, headers={"Authorization": f"Bearer {deployment_key}"},
                                      files=[("files", ("inv.txt", INVOICE))], data={"timeout": "60"}, timeout=120)
                status, body = answer.status_code, answer.json()
            except (requests.RequestException, ValueError):
                status, body = "error", {}
            ms = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(ms)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200 and body["message"]["execution_status"] == "COMPLETED":
                    execution_ids.append(body["message"]["execution_id"])

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {"clients": clients, "seconds": round(elapsed, 1), "requests": len(latencies),
            "requests_per_s": round(len(latencies) / elapsed, 1),
            "median_ms": round(statistics.median(latencies), 1), "p99_ms": round(percentile(latencies, 0.99), 1),
            "statuses": {str(k): v for k, v in statuses.items()},
            "errors": sum(v for k, v in statuses.items() if k != 200),
            "completed_in_answer": len(execution_ids)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="sequential calls per route")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as directory:
        data_dir = Path(directory) / "data"
        process, base = start_service(data_dir, args.workers)
        try:
            key = org_key(data_dir)
            workflow_id, deployment_key = set_up(base, key)
            figures = {"sequential": sequential(base, key, workflow_id, deployment_key, args.calls),
                       "concurrent": concurrent(base, deployment_key, args.clients, args.seconds)}
        finally:
            process.terminate()
            process.wait(60)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
