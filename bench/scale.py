"""Scale-out across hosts, on one machine (docs/SCALING.md): `python -m bench.scale --help`, as root.

A small cluster built with network namespaces: PostgreSQL and Redis stay where they are, in the root
namespace on 127.0.0.1; each "host" is a namespace `usb-h<n>` on a private bridge `usb0` (10.77.0.0/24,
one veth pair per namespace, its own address) running `unstract worker` processes that reach the
database and Redis only over the bridge; the web server (gunicorn) runs in `usb-web` and the LLM test
server (tests/llm_server.py, fixed latency) in `usb-llm`. The machine's servers listen on loopback only,
so two `socat` forwarders in the root namespace, bound to the bridge address 10.77.0.1 only, carry
:5432 and :6379 to them (the servers' configuration is left alone).

Two workloads, each for every host count: `io` (text_extractor + llm_extractor on small invoices, every
file waits for the LLM's latency) and `cpu` (text_extractor on generated multi-page text PDFs). Then
one `io` run on the largest host count in which a host is killed (every process of its namespace,
SIGKILL) once a third of the files are done: the run must end with every file COMPLETED exactly once.

A throwaway database `scale_bench` on the machine's PostgreSQL (dropped before and after) and one Redis
database (`--redis-db`, flushed before and after). Namespaces, the bridge and every process are removed
at the end, on Ctrl-C, SIGTERM, SIGHUP and on failure; a run killed with SIGKILL is cleaned up by the
next one.

    sudo .venv/bin/python -m bench.scale                        # 1,2,4,8 hosts, both workloads, kill run
    sudo .venv/bin/python -m bench.scale --hosts 1,2 --workloads io --no-kill --json /tmp/scale.json
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import redis

from bench import common

PREFIX = "usb"  # unstract scale bench: namespaces usb-*, bridge usb0, veth usb<n>a/usb<n>b
BRIDGE = f"{PREFIX}0"
ROOT_ADDRESS = "10.77.0.1"
WEB_NS, WEB_ADDRESS, WEB_PORT = f"{PREFIX}-web", "10.77.0.2", 8000
LLM_NS, LLM_ADDRESS, LLM_PORT = f"{PREFIX}-llm", "10.77.0.3", 8001
DATABASE = "scale_bench"
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MONITOR_NAME = "scale-bench-monitor"  # the bench's own connections, left out of the counts
POLL_SECONDS = 0.25
FIELDS = [{"name": "invoice_number", "prompt": "The invoice number", "type": "text", "required": True},
          {"name": "total", "prompt": "The total amount", "type": "number"}]


def host_ns(n: int) -> str:
    return f"{PREFIX}-h{n}"


def host_address(n: int) -> str:
    return f"10.77.0.{10 + n}"


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, capture_output=True, text=True)


# --- The cluster ---------------------------------------------------------------------------------

class Cluster:
    """Namespaces on a bridge, forwarders and processes; `close()` removes all of it and is idempotent."""

    def __init__(self) -> None:
        self.namespaces: list[str] = []
        self.root_processes: list[subprocess.Popen] = []
        self.index = 0

    @staticmethod
    def leftovers() -> list[str]:
        return [line.split()[0] for line in sh("ip", "netns", "list").stdout.splitlines()
                if line.startswith(f"{PREFIX}-")]

    def open(self) -> None:
        for name in self.leftovers():  # a previous run killed with SIGKILL
            self.kill_namespace(name)
            sh("ip", "netns", "del", name, check=False)
        sh("ip", "link", "del", BRIDGE, check=False)
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{ROOT_ADDRESS}/24", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")

    def add_namespace(self, name: str, address: str) -> None:
        self.index += 1
        outside, inside = f"{PREFIX}{self.index}a", f"{PREFIX}{self.index}b"
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        sh("ip", "link", "set", outside, "master", BRIDGE)
        sh("ip", "link", "set", outside, "up")
        sh("ip", "link", "set", inside, "netns", name)
        for argv in (["ip", "addr", "add", f"{address}/24", "dev", inside], ["ip", "link", "set", inside, "up"],
                     ["ip", "link", "set", "lo", "up"]):
            sh("ip", "netns", "exec", name, *argv)

    def forward(self, port: int) -> None:
        """Root namespace, bridge address only -> the loopback server on the same port."""
        self.root_processes.append(subprocess.Popen(
            ["socat", f"TCP-LISTEN:{port},bind={ROOT_ADDRESS},reuseaddr,fork,backlog=512", f"TCP:127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))

    @staticmethod
    def spawn(namespace: str, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        full_env = {k: v for k, v in {**os.environ, **env}.items() if k != "WERKZEUG_RUN_MAIN"}
        with open(log, "ab") as out:
            return subprocess.Popen(["ip", "netns", "exec", namespace, *argv], env=full_env, cwd=common.PROJECT_ROOT,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    @staticmethod
    def pids(namespace: str) -> list[int]:
        return [int(p) for p in sh("ip", "netns", "pids", namespace, check=False).stdout.split()]

    def kill_namespace(self, namespace: str, sig: int = signal.SIGKILL) -> list[int]:
        """Every process of the namespace (a host's workers, their tool processes, RQ's scheduler)."""
        pids = self.pids(namespace)
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while self.pids(namespace) and time.monotonic() < deadline:
            time.sleep(0.05)
        return pids

    def forwarder_pids(self) -> list[int]:
        return [d for p in self.root_processes for d in [p.pid, *common.descendants(p.pid)]]

    def close(self) -> None:
        for name in self.namespaces:
            self.kill_namespace(name, signal.SIGTERM)
            self.kill_namespace(name)
        for process in self.root_processes:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        for name in [*self.namespaces, *self.leftovers()]:
            sh("ip", "netns", "del", name, check=False)
        sh("ip", "link", "del", BRIDGE, check=False)
        self.namespaces, self.root_processes = [], []


def namespaces_permitted() -> str | None:
    """Why this machine cannot run the benchmark, or None."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root (run it with sudo)"
    for tool in ("ip", "socat"):
        if not shutil.which(tool):
            return f"`{tool}` is not installed"
    probe = f"{PREFIX}-probe-{os.getpid()}"
    result = sh("ip", "netns", "add", probe, check=False)
    sh("ip", "netns", "del", probe, check=False)
    if result.returncode:
        return f"`ip netns add` is not permitted here: {result.stderr.strip()}"
    return None


# --- Measuring -----------------------------------------------------------------------------------

class CpuTracker:
    """CPU seconds of processes that come and go: the first and last value seen of each pid."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}

    def sample(self, pids: list[int], new_from_zero: bool = True) -> None:
        for pid in pids:
            with suppress(OSError, IndexError):
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                self.first.setdefault(pid, 0.0 if new_from_zero else seconds)
                self.last[pid] = seconds

    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def redis_totals(client: redis.Redis) -> tuple[int, float]:
    """Commands processed and CPU seconds of the whole Redis server so far (shared with others)."""
    stats, cpu = client.info("stats"), client.info("cpu")
    return stats["total_commands_processed"], cpu["used_cpu_user"] + cpu["used_cpu_sys"]


@dataclass
class Run:
    workload: str
    hosts: int
    workers: int
    files: int
    status: str
    completed: int
    wall_s: float
    files_per_s: float
    p50_file_s: float
    p95_file_s: float
    db_connections_max: int
    redis_ops_per_s: float  # server-wide rate minus the idle rate measured just before
    redis_ops_per_file: float
    cpu_s: dict[str, float]  # workers (all processes of the host namespaces), web, db backends, forwarders, redis
    machine_busy_cores: float
    cpu_ms_per_file: float  # workers + web + db + forwarders + redis, per file
    load_end: float
    llm_requests: int | None = None
    killed: dict | None = None
    checks: dict = field(default_factory=dict)


class Bench:
    """The database, Redis, the app, the services and the runs of one benchmark."""

    def __init__(self, args: argparse.Namespace, cluster: Cluster, work: Path) -> None:
        self.args, self.cluster, self.work = args, cluster, work
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.storage = work / "storage"
        self.redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
        self.redis = redis.Redis.from_url(self.redis_url)
        self.local_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
        remote_url = f"postgresql+psycopg://postgres@{ROOT_ADDRESS}:5432/{DATABASE}"
        self.env = {**common.base_env(work, remote_url, f"redis://{ROOT_ADDRESS}:6379/{args.redis_db}"),
                    "UNSTRACT_FILE_LEASE_SECONDS": str(args.lease_seconds),
                    "UNSTRACT_REAP_INTERVAL_SECONDS": str(args.reap_interval),
                    "UNSTRACT_TRUSTED_HOSTS": WEB_ADDRESS,
                    "PYTHONPATH": str(common.PROJECT_ROOT)}  # this checkout, whatever the venv's install points at
        self.monitor = None
        self.stack = ExitStack()  # the bench's own app (migrations, rows), closed before the database is dropped

    # set-up

    def prepare(self) -> None:
        from sqlalchemy import create_engine, text

        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
        admin.dispose()
        self.redis.flushdb()
        local_env = {**self.env, "DATABASE_URL": self.local_url, "REDIS_URL": self.redis_url}
        self.app = self.stack.enter_context(common.migrated_app(local_env))
        with self.app.app_context():
            self.world = common.make_world(self.storage)
            self.adapter_id = self.make_adapter()
        self.monitor = create_engine(self.local_url, isolation_level="AUTOCOMMIT", pool_size=1,
                                     connect_args={"application_name": MONITOR_NAME})

    def make_adapter(self) -> uuid.UUID:
        from unstract.extensions import db
        from unstract.models import Adapter
        from unstract.services import secrets

        config = {"base_url": f"http://{LLM_ADDRESS}:{LLM_PORT}/v1", "model": "test-model", "timeout_seconds": 60,
                  "max_retries": 1, "max_concurrency": 8, "input_cost_per_million": 1.0,
                  "output_cost_per_million": 2.0, "supports_json_schema": True}
        adapter = Adapter(organization_id=self.world.org_uuid, name="Bench LLM", adapter_type="llm",
                          provider="openai", config=config, api_key_last4="0000",
                          sealed_api_key=secrets.seal_value("sk-bench-0000", common.SECRET_KEY))
        db.session.add(adapter)
        db.session.commit()
        return adapter.id

    def start_services(self) -> None:
        cluster = self.cluster
        cluster.add_namespace(WEB_NS, WEB_ADDRESS)
        cluster.add_namespace(LLM_NS, LLM_ADDRESS)
        for n in range(1, max(self.args.hosts) + 1):
            cluster.add_namespace(host_ns(n), host_address(n))
        cluster.forward(5432)
        cluster.forward(6379)
        cluster.spawn(LLM_NS, [sys.executable, "-m", "tests.llm_server", "--host", LLM_ADDRESS, "--port",
                               str(LLM_PORT), "--latency", str(self.args.latency)], {}, self.logs / "llm.log")
        cluster.spawn(WEB_NS, [str(common.VENV_BIN / "gunicorn"), "--workers", str(self.args.web_processes),
                               "--threads", "4", "--no-control-socket", "--bind", f"{WEB_ADDRESS}:{WEB_PORT}",
                               "wsgi:app"],
                      self.env, self.logs / "web.log")
        deadline = time.monotonic() + 60
        while True:
            with suppress(httpx.HTTPError):
                if httpx.get(f"http://{WEB_ADDRESS}:{WEB_PORT}/healthz", timeout=2).status_code == 200 and \
                        httpx.get(f"http://{LLM_ADDRESS}:{LLM_PORT}/_control/requests", timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the web server or the LLM server did not start; see {self.logs}")
            time.sleep(0.2)

    # data

    def folder(self, workload: str, files: int) -> str:
        """`files` inputs of the workload in a folder of their own (file history never skips one)."""
        name = f"in-{workload}-{files}-{uuid.uuid4().hex[:6]}"
        if workload == "io":
            common.write_invoices(self.storage / name, files)
        else:
            from unstract.demo.make_samples import build_pdf

            (self.storage / name).mkdir(parents=True)
            for n in range(files):
                pages = [[f"Report {n} page {p} line {line}: " + " ".join(f"word{(n + p + line + w) % 97}"
                                                                          for w in range(12))
                          for line in range(self.args.pdf_lines)] for p in range(self.args.pdf_pages)]
                (self.storage / name / f"report-{n:05d}.pdf").write_bytes(build_pdf(pages))
        return name

    def tool_chain(self, workload: str) -> list[tuple[str, dict]]:
        if workload == "io":
            return [("text_extractor", {}), ("llm_extractor", {"adapter_id": str(self.adapter_id), "fields": FIELDS})]
        return [("text_extractor", {"mode": "native"})]

    def workflow(self, workload: str, folder: str, files: int) -> uuid.UUID:
        with self.app.app_context():
            return common.make_folder_workflow(self.world, f"scale {folder}", folder, f"out-{folder}", files,
                                               self.tool_chain(workload)).id

    def tool_ms(self, workload: str, folder: str) -> float:
        """The tools' own CPU time per file, in-process after one warm-up call (for `io`: the LLM's latency,
        which is wall time, not CPU; its own CPU is in the overhead)."""
        if workload == "io":
            return 1000 * self.args.latency
        from unstract.jsonschemas import fill_defaults, mime_type_for
        from unstract.tools.registry import TOOLS

        paths = sorted((self.storage / folder).iterdir())[:6]
        settings = fill_defaults({"mode": "native"}, TOOLS["text_extractor"].settings_schema)
        sources = [(path.read_bytes(), mime_type_for(path.name)) for path in paths]
        TOOLS["text_extractor"].run(*sources[0], None, settings)  # imports and first-use set-up
        started = time.process_time()
        for source, mime in sources[1:]:
            TOOLS["text_extractor"].run(source, mime, None, settings)
        return 1000 * (time.process_time() - started) / (len(sources) - 1)

    # one run

    def start_hosts(self, hosts: int) -> None:
        for n in range(1, hosts + 1):
            for w in range(self.args.workers_per_host):
                self.cluster.spawn(host_ns(n), common.UNSTRACT_WORKER_ARGV, self.env, self.logs / f"h{n}-w{w}.log")
        from rq import Worker

        expected, deadline = hosts * self.args.workers_per_host, time.monotonic() + 120
        while len(Worker.all(connection=self.redis)) < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{expected} workers did not register within 120 s; see {self.logs}")
            time.sleep(0.2)

    def warm_up(self, workload: str, workers: int) -> None:
        """An untimed execution of 2 files per worker first: each worker starts its tool process (and
        imports the tools) lazily on its first file, which is start-up, not throughput."""
        files = 2 * workers
        folder = self.folder(workload, files)
        execution_id = self.execute(self.workflow(workload, folder, files))
        deadline = time.monotonic() + self.args.timeout
        while self.progress(execution_id)[0] not in ("COMPLETED", "ERROR", "STOPPED"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"warm-up execution {execution_id} not finished within {self.args.timeout} s")
            time.sleep(POLL_SECONDS)

    def stop_hosts(self, hosts: int) -> None:
        for n in range(1, hosts + 1):
            self.cluster.kill_namespace(host_ns(n), signal.SIGTERM)
            self.cluster.kill_namespace(host_ns(n))
        from rq import Worker

        for worker in Worker.all(connection=self.redis):  # killed ones stay registered until their key expires
            worker.register_death()

    def execute(self, workflow_id: uuid.UUID) -> uuid.UUID:
        response = httpx.post(f"http://{WEB_ADDRESS}:{WEB_PORT}/api/v1/unstract/bench/workflow/execute/",
                              json={"workflow_id": str(workflow_id), "timeout": 0},
                              headers={"Authorization": f"Bearer {self.world.token}"}, timeout=60)
        if response.status_code != 202:
            raise RuntimeError(f"execute answered {response.status_code}: {response.text}")
        return uuid.UUID(response.json()["execution_id"])

    def query(self, sql: str, **params):
        from sqlalchemy import text

        with self.monitor.connect() as conn:
            return conn.execute(text(sql), params).all()

    def progress(self, execution_id: uuid.UUID) -> tuple[str, int]:
        row = self.query("SELECT status, successful_files + failed_files FROM execution WHERE id = :id",
                         id=execution_id)[0]
        return row[0], row[1]

    def backends(self) -> tuple[int, list[int]]:
        rows = self.query("SELECT pid FROM pg_stat_activity WHERE datname = :db AND application_name <> :me",
                          db=DATABASE, me=MONITOR_NAME)
        return len(rows), [r[0] for r in rows]

    def measure(self, workload: str, hosts: int, kill: bool = False) -> Run:
        workers = hosts * self.args.workers_per_host
        files = self.args.files_per_worker[workload] * workers
        folder = self.folder(workload, files)
        workflow_id = self.workflow(workload, folder, files)
        tool_ms = self.tool_ms(workload, folder)
        self.start_hosts(hosts)
        try:
            self.warm_up(workload, workers)
            return self._timed(workload, hosts, workers, files, folder, workflow_id, tool_ms, kill)
        finally:
            self.stop_hosts(hosts)

    def idle_redis_rate(self) -> float:
        before, _ = redis_totals(self.redis)
        time.sleep(2)
        return (redis_totals(self.redis)[0] - before) / 2 - 1  # the second INFO call itself

    def _timed(self, workload, hosts, workers, files, folder, workflow_id, tool_ms, kill) -> Run:
        httpx.post(f"http://{LLM_ADDRESS}:{LLM_PORT}/_control/reset", timeout=10)
        idle_rate = self.idle_redis_rate()
        host_cpu, web_cpu, db_cpu, forwarder_cpu = CpuTracker(), CpuTracker(), CpuTracker(), CpuTracker()
        def host_pids() -> list[int]:
            return [p for n in range(1, hosts + 1) for p in self.cluster.pids(host_ns(n))]

        for tracker, pids in ((host_cpu, host_pids()), (web_cpu, self.cluster.pids(WEB_NS)),
                              (db_cpu, self.backends()[1]), (forwarder_cpu, self.cluster.forwarder_pids())):
            tracker.sample(pids, new_from_zero=False)
        redis_before, machine_before = redis_totals(self.redis), machine_busy()
        connections, killed = 0, None
        started = time.perf_counter()
        execution_id = self.execute(workflow_id)
        while True:
            status, done = self.progress(execution_id)
            count, backend_pids = self.backends()
            connections = max(connections, count)
            host_cpu.sample(host_pids())
            web_cpu.sample(self.cluster.pids(WEB_NS))
            db_cpu.sample(backend_pids)
            forwarder_cpu.sample(self.cluster.forwarder_pids())
            if kill and killed is None and done >= files // 3:
                victim = host_ns(hosts)
                pids = self.cluster.kill_namespace(victim)
                killed = {"host": victim, "processes": len(pids), "at_files_done": done,
                          "at_s": round(time.perf_counter() - started, 2)}
                self._say(f"  killed {victim}: {len(pids)} processes, {done}/{files} files done")
            if status in ("COMPLETED", "ERROR", "STOPPED"):
                break
            if time.perf_counter() - started > self.args.timeout:
                raise RuntimeError(f"execution {execution_id} not finished within {self.args.timeout} s")
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - started
        redis_after, machine_after = redis_totals(self.redis), machine_busy()
        commands = redis_after[0] - redis_before[0] - idle_rate * wall
        cpu = {"workers": host_cpu.seconds(), "web": web_cpu.seconds(), "db": db_cpu.seconds(),
               "forwarders": forwarder_cpu.seconds(), "redis": redis_after[1] - redis_before[1]}
        busy = (machine_after[0] - machine_before[0]) / max(machine_after[1] - machine_before[1], 1) * os.cpu_count()
        times = [r[0] for r in self.query(
            "SELECT execution_time FROM file_execution WHERE execution_id = :id AND execution_time IS NOT NULL",
            id=execution_id)]
        llm = len(httpx.get(f"http://{LLM_ADDRESS}:{LLM_PORT}/_control/requests", timeout=30).json()) \
            if workload == "io" else None
        checks = self.checks(execution_id, folder, files)
        checks["tool_ms_per_file"] = round(tool_ms, 1)
        checks["overhead_ms_per_file"] = round(1000 * wall * workers / files - tool_ms, 1)
        if workload == "cpu":  # CPU of every process of the run per file, less the tool's own CPU
            checks["cpu_overhead_ms_per_file"] = round(1000 * sum(cpu.values()) / files - tool_ms, 1)
        return Run(workload=workload, hosts=hosts, workers=workers, files=files, status=status,
                   completed=checks["completed"], wall_s=round(wall, 2), files_per_s=round(files / wall, 2),
                   p50_file_s=round(statistics.median(times), 3) if times else 0.0,
                   p95_file_s=round(percentile(times, 95), 3), db_connections_max=connections,
                   redis_ops_per_s=round(commands / wall, 1), redis_ops_per_file=round(commands / files, 1),
                   cpu_s={k: round(v, 2) for k, v in cpu.items()}, machine_busy_cores=round(busy, 2),
                   cpu_ms_per_file=round(1000 * sum(cpu.values()) / files, 1), load_end=os.getloadavg()[0],
                   llm_requests=llm, killed=killed, checks=checks)

    def checks(self, execution_id: uuid.UUID, folder: str, files: int) -> dict:
        """Nothing lost or doubled: one file execution per input, each COMPLETED once, counters agree,
        one output per input."""
        rows = self.query("SELECT file_name, status, attempts FROM file_execution WHERE execution_id = :id",
                          id=execution_id)
        names = [r[0] for r in rows]
        counters = self.query("SELECT successful_files, failed_files, total_files FROM execution "
                              "WHERE id = :id", id=execution_id)[0]
        outputs = [p for p in (self.storage / f"out-{folder}").rglob("*") if p.is_file()]
        return {"file_rows": len(rows), "distinct_files": len(set(names)),
                "completed": sum(r[1] == "COMPLETED" for r in rows),
                "statuses": {s: sum(r[1] == s for r in rows) for s in {r[1] for r in rows}},
                "attempts_above_1": sum(r[2] > 1 for r in rows),
                "counters": {"successful": counters[0], "failed": counters[1], "total": counters[2]},
                "outputs": len(outputs),
                "ok": len(rows) == len(set(names)) == files and all(r[1] == "COMPLETED" for r in rows)
                and counters[0] == files and counters[1] == 0 and len(outputs) == files}

    @staticmethod
    def _say(message: str) -> None:
        print(message, flush=True)

    def close(self) -> None:
        from sqlalchemy import create_engine, text

        if self.monitor is not None:
            self.monitor.dispose()
        self.stack.close()
        with suppress(Exception):
            self.redis.flushdb()
        with suppress(Exception):
            admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            admin.dispose()


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share / 100 * len(ordered) + 0.5) - 1))]


# --- Report --------------------------------------------------------------------------------------

def table(runs: list[Run]) -> str:
    headers = ["workload", "hosts", "workers", "files", "wall s", "files/s", "x 1 host", "p50 file s", "p95 file s",
               "DB conns", "Redis ops/s", "Redis ops/file", "CPU workers s", "CPU web+db+fwd+redis s",
               "CPU ms/file", "busy cores", "tool ms/file", "overhead ms/file", "CPU overhead ms/file", "check"]
    base = {r.workload: r.files_per_s for r in runs if r.hosts == 1 and not r.killed}
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for r in runs:
        other = r.cpu_s["web"] + r.cpu_s["db"] + r.cpu_s["forwarders"] + r.cpu_s["redis"]
        speedup = f"{r.files_per_s / base[r.workload]:.2f}" if r.workload in base else "-"
        tag = f"{r.workload}, host killed" if r.killed else r.workload
        lines.append("| " + " | ".join(str(v) for v in [
            tag, r.hosts, r.workers, r.files, r.wall_s, r.files_per_s, speedup, r.p50_file_s, r.p95_file_s,
            r.db_connections_max, r.redis_ops_per_s, r.redis_ops_per_file, r.cpu_s["workers"], round(other, 2),
            r.cpu_ms_per_file, r.machine_busy_cores, r.checks["tool_ms_per_file"], r.checks["overhead_ms_per_file"],
            r.checks.get("cpu_overhead_ms_per_file", "-"),
            "ok" if r.checks["ok"] else "FAILED"]) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", default="1,2,4,8", help="host counts, comma-separated")
    parser.add_argument("--workloads", default="io,cpu", help="io, cpu or both")
    parser.add_argument("--workers-per-host", type=int, default=1)
    parser.add_argument("--io-files-per-worker", type=int, default=12)
    parser.add_argument("--cpu-files-per-worker", type=int, default=8)
    parser.add_argument("--latency", type=float, default=1.0, help="the LLM test server's latency, seconds")
    parser.add_argument("--pdf-pages", type=int, default=80)
    parser.add_argument("--pdf-lines", type=int, default=40)
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--redis-db", type=int, default=8)
    parser.add_argument("--lease-seconds", type=int, default=15, help="UNSTRACT_FILE_LEASE_SECONDS of the workers")
    parser.add_argument("--reap-interval", type=int, default=5, help="UNSTRACT_REAP_INTERVAL_SECONDS of the workers")
    parser.add_argument("--no-kill", action="store_true", help="skip the run that kills a host")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args(argv)
    args.hosts = sorted(int(v) for v in args.hosts.split(","))
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.files_per_worker = {"io": args.io_files_per_worker, "cpu": args.cpu_files_per_worker}
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    reason = namespaces_permitted()
    if reason:
        print(f"bench.scale skipped: {reason}.", file=sys.stderr)
        return 2
    cluster = Cluster()
    atexit.register(cluster.close)  # also when something below exits the interpreter early
    common.interrupt_on_sigterm()
    signal.signal(signal.SIGHUP, signal.getsignal(signal.SIGTERM))
    work = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    bench = Bench(args, cluster, work)
    runs: list[Run] = []
    finished = False
    print(json.dumps({"machine": common.machine_info(), "work_dir": str(work)}), flush=True)
    try:
        cluster.open()
        bench.prepare()
        bench.start_services()
        plan = [(w, n, False) for w in args.workloads for n in args.hosts]
        if not args.no_kill and "io" in args.workloads:
            plan.append(("io", max(args.hosts), True))
        for workload, hosts, kill in plan:
            run = bench.measure(workload, hosts, kill)
            runs.append(run)
            print(json.dumps(asdict(run)), flush=True)
        finished = True
    finally:
        cluster.close()
        bench.close()
        if args.json:
            Path(args.json).write_text(json.dumps({"machine": common.machine_info(),
                                                   "runs": [asdict(r) for r in runs]}, indent=2))
        if finished:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"failed: the processes' logs are kept in {work / 'logs'}", file=sys.stderr)
    print(table(runs))
    return 0 if all(r.checks["ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
