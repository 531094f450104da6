"""A TCP proxy on loopback that can be cut and restored, to put a database outage between workers and it.

This is a real server: a listening socket and threads that relay bytes both ways to the upstream
server (PostgreSQL in the fault tests). `cut()` does to the clients what a server restart does:
every relayed connection is closed under them and new connections are refused (nothing listens on
the port); `restore()` listens on the same port again. The upstream server itself is never touched.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

ACCEPT_POLL_SECONDS = 0.05
CHUNK = 65536


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._relayed: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.connections = 0  # connections accepted so far

    def start(self) -> TcpProxy:
        """Listen (on a free port the first time, on the same port after a cut)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(ACCEPT_POLL_SECONDS)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept_loop, args=(listener,), name="proxy-accept",
                                           daemon=True)
        self._accepting.start()
        return self

    def cut(self) -> None:
        """Stop listening (connections are refused) and close every relayed connection."""
        listener, self._listener = self._listener, None
        if listener is not None:
            self._accepting.join()
            listener.close()
        with self._lock:
            relayed, self._relayed = self._relayed, set()
        for sock in relayed:
            _close(sock)

    def restore(self) -> None:
        self.start()

    @contextmanager
    def outage(self, seconds: float):
        """Cut for `seconds`, then restore; the body runs while the outage lasts."""
        self.cut()
        started = time.monotonic()
        try:
            yield
        finally:
            time.sleep(max(seconds - (time.monotonic() - started), 0))
            self.restore()

    def close(self) -> None:
        self.cut()

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _close(client)
                    _close(upstream)
                    return
                self._relayed.update((client, upstream))
                self.connections += 1
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), name="proxy-pump", daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(CHUNK):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._relayed.discard(source)
                self._relayed.discard(target)
            _close(source)
            _close(target)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
