"""From a worker writing a log line to the dashboard's tail request returning it (issue 6, item 4):
`python -m bench.live_logs --help`.

A separate process writes log lines into the big execution (200,000 rows at scale 1) the way the engine
does (RunLog, one commit per line), at random intervals; two clients tail it through waitress on
loopback as the dashboard does, with `after=<largest id seen>` once a second: the API
(GET …/logs/?after=) and the dashboard's own partial (GET /executions/<id>/logs?after= with HX-Request,
logged in with a session). Latency = response received - line committed (one monotonic clock). Then the
tail request alone, with 0 and 20 new rows, on the big execution and on a small one (O(new rows)).
"""

from __future__ import annotations

import argparse
import http.cookies
import json
import multiprocessing
import random
import re
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from bench import common
from bench.data import EMAIL, ORG_ID, PASSWORD, Dataset, loaded
from bench.lists import Client, api_client, api_path, ms, served


def dashboard_poll_seconds() -> float:
    """The log poller's interval, read from its template (`hx-trigger="every 500ms"`), so the bench
    measures what the dashboard does; htmx re-arms it when the new poller is swapped in."""
    template = Path(__file__).resolve().parent.parent / "templates" / "executions" / "_log_poller.html"
    amount, unit = re.search(r'hx-trigger="every (\d+)(ms|s)"', template.read_text()).groups()
    return int(amount) / (1000 if unit == "ms" else 1)


POLL_S = dashboard_poll_seconds()
LINE = re.compile(r"live line (\d+)\b")
TARGET_S = 1.0


def write_lines(env: dict, execution_id: str, seconds: float, pipe) -> None:
    """Worker side (own process): one committed log line at a time; sends {line: commit time} at the end."""
    import uuid

    from unstract.app import create_app
    from unstract.config import read_settings
    from unstract.services.runlog import RunLog

    app = create_app({"UNSTRACT_SETTINGS": read_settings(env)})
    committed: dict[int, float] = {}
    rng = random.Random(4)
    with app.app_context():
        log = RunLog(uuid.UUID(execution_id), ORG_ID)
        pipe.send("ready")
        deadline = time.monotonic() + seconds
        line = 0
        while time.monotonic() < deadline:
            log.info("PROCESSING", f"live line {line} from the worker.")
            log.commit()
            committed[line] = time.monotonic()
            line += 1
            time.sleep(rng.uniform(0.05, 0.3))
    pipe.send(committed)


def session_client(port: int) -> Client:
    """A dashboard session: log in through the real form (CSRF token and all)."""
    client = Client(port)
    _, page, _ = client.get("/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    client.headers["Cookie"] = cookie_of(client)
    form = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token}).encode()
    status, body, _ = client.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 302, (status, body[:300])
    client.headers["Cookie"] = cookie_of(client)
    return client


def cookie_of(client: Client) -> str:
    jar = http.cookies.SimpleCookie()
    for header in client.last_headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return "; ".join(f"{key}={morsel.value}" for key, morsel in jar.items())


class Tail:
    """One tailing client: polls with the largest id seen, `poll_s` after each answer (as the dashboard's
    poller, replaced with every answer, does), and records when each line arrives."""

    def __init__(self, client: Client, path: str, web: bool, cursor: int, poll_s: float = POLL_S):
        self.client, self.path, self.web, self.cursor, self.poll_s = client, path, web, cursor, poll_s
        self.arrived: dict[int, float] = {}
        self.requests: list[float] = []

    def poll(self) -> None:
        headers = {"HX-Request": "true"} if self.web else None
        status, body, seconds = self.client.get(f"{self.path}?after={self.cursor}&page_size=1000", headers)
        now = time.monotonic()
        assert status == 200, (status, body[:300])
        self.requests.append(seconds)
        text = body.decode()
        for line in LINE.findall(text):
            self.arrived.setdefault(int(line), now)
        if self.web:
            self.cursor = int(re.search(r'data-cursor="(\d+)"', text).group(1))
        else:
            self.cursor = max([self.cursor, *(row["id"] for row in json.loads(body)["results"])])

    def follow(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.poll()
            stop.wait(self.poll_s)


def newest_ids(app, execution_id, n: int) -> list[int]:
    """The ids of the execution's `n` newest rows, newest first."""
    from sqlalchemy import select

    from unstract.extensions import db
    from unstract.models import ExecutionLog

    with app.app_context():
        query = (select(ExecutionLog.id).where(ExecutionLog.execution_id == execution_id)
                 .order_by(ExecutionLog.id.desc()).limit(n))
        return list(db.session.scalars(query))


def follow_writer(env: dict, dataset: Dataset, tails: list[Tail], seconds: float) -> dict[int, float]:
    """Run the writer process for `seconds` while every tail polls; returns {line: commit time}."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    writer = context.Process(target=write_lines, args=(env, str(dataset.big_execution), seconds, child))
    writer.start()
    try:
        assert parent.poll(120) and parent.recv() == "ready", "the writer did not start"
        stop = threading.Event()
        threads = [threading.Thread(target=t.follow, args=(stop,), daemon=True) for t in tails]
        for thread in threads:
            thread.start()
        assert parent.poll(seconds + 120), "the writer did not finish"
        committed = parent.recv()
        time.sleep(2 * max(t.poll_s for t in tails) + 0.5)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        return committed
    finally:
        writer.join(timeout=30)
        if writer.is_alive():
            writer.kill()


def arrival_report(tail: Tail, committed: dict[int, float]) -> dict:
    latencies = [tail.arrived[k] - at for k, at in committed.items() if k in tail.arrived]
    return {"lines": len(committed), "missing": len(committed) - len(latencies),
            "latency_s": {"p50": round(sorted(latencies)[len(latencies) // 2], 3),
                          "p99": round(sorted(latencies)[min(len(latencies) - 1, int(0.99 * len(latencies)))], 3),
                          "max": round(max(latencies), 3)},
            "tail_request_ms": ms(tail.requests)}


def tail_alone(client: Client, path: str, web: bool, after: int, reps: int = 30) -> dict:
    headers = {"HX-Request": "true"} if web else None
    samples = []
    for _ in range(reps + 2):
        status, body, seconds = client.get(f"{path}?after={after}&page_size=1000", headers)
        assert status == 200, (status, body[:300])
        samples.append(seconds)
    return ms(samples[2:])


def request_sizes(app, dataset: Dataset, api: Client, web: Client) -> list[dict]:
    """The tail request alone, 0 and 20 new rows, on the big and a small execution, API and dashboard."""
    out = []
    for label, execution in (("big", dataset.big_execution), ("small", dataset.small_execution)):
        ids = newest_ids(app, execution, 21)
        for new, after in ((0, ids[0]), (20, ids[-1])):
            out.append({"execution": label, "new_rows": new,
                        "api_ms": tail_alone(api, api_path(f"workflow/execution/{execution}/logs/"), False, after),
                        "dashboard_ms": tail_alone(web, f"/executions/{execution}/logs", True, after)})
    return out


def follow_once(app, env: dict, dataset: Dataset, port: int, poll_s: float, seconds: float) -> dict:
    """Both tailing clients against one writer run; the latency of every line to each."""
    top = newest_ids(app, dataset.big_execution, 1)[0]
    tails = [Tail(api_client(port, dataset), api_path(f"workflow/execution/{dataset.big_execution}/logs/"),
                  False, top, poll_s),
             Tail(session_client(port), f"/executions/{dataset.big_execution}/logs", True, top, poll_s)]
    committed = follow_writer(env, dataset, tails, seconds)
    for tail in tails:
        tail.client.close()
    return {"poll_s": poll_s, "api": arrival_report(tails[0], committed),
            "dashboard": arrival_report(tails[1], committed)}


def run(app, env: dict, dataset: Dataset, *, seconds: float = 20.0, polls: tuple[float, ...] = (POLL_S,)) -> dict:
    """End-to-end latency at each poll interval (the dashboard's first), then the tail request alone."""
    with served(app) as port:
        report = {"follow": [follow_once(app, env, dataset, port, poll, seconds) for poll in polls]}
        api, web = api_client(port, dataset), session_client(port)
        report["requests"] = request_sizes(app, dataset, api, web)
        api.close(), web.close()
    shipped = report["follow"][0]
    report["ok"] = all(shipped[k]["latency_s"]["max"] < TARGET_S and not shipped[k]["missing"]
                       for k in ("api", "dashboard"))
    print(f"live_logs: {json.dumps(report)}", flush=True)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live_logs", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full data set (0.1: quick)")
    parser.add_argument("--database-url", help="a PostgreSQL server (…/postgres); a throwaway bench_<random> "
                                               "database is created on it and dropped (default: SQLite)")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the worker writes lines")
    parser.add_argument("--json", type=argparse.FileType("w"), help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    common.interrupt_on_sigterm()
    with loaded(args.scale, args.database_url) as (app, env, dataset):
        report = run(app, env, dataset, seconds=args.seconds)
    if args.json:
        json.dump(report, args.json, indent=1)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
