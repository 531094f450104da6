"""A webhook receiver on loopback for the delivery tests: it stands in for an outside service that receives
webhooks (a real HTTP server in a thread of the test process, reachable by in-process jobs and by
worker processes alike).

`plan` lists what the next requests get, one entry each, then "ok" for every later one:
"ok" (200), an integer status, "hang" (no answer until the test ends), "huge" (200 and 50 MB of body
streamed), "redirect" (302 to a loopback URL). A `delay` (seconds) slows every answer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    plan: list = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def next_answer(self, request: Received):
        with self.lock:
            self.received.append(request)
            return self.plan.pop(0) if self.plan else "ok"

    def delivery_ids(self) -> list[str]:
        with self.lock:
            return [r.headers.get("X-Unstract-Delivery") for r in self.received]


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            request = Received(self.path, dict(self.headers.items()), self.rfile.read(length))
            answer = receiver.next_answer(request)
            if receiver.delay:
                time.sleep(receiver.delay)
            if answer == "hang":
                receiver.released.wait(120)
                return
            if answer == "huge":
                return self._huge()
            if answer == "redirect":
                return self._send(302, b"", {"Location": "http://127.0.0.1:1/elsewhere"})
            status = 200 if answer == "ok" else int(answer)
            self._send(status, f"answer {status} to {request.headers.get('X-Unstract-Delivery')}".encode())

        def _send(self, status: int, body: bytes, headers: dict | None = None):
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _huge(self):
            self.send_response(200)
            self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(800):
                    self.wfile.write(chunk)
            except OSError:
                pass  # the delivery stopped reading, as it should

    return Handler


def start_receiver(**options) -> Receiver:
    receiver = Receiver(**options)
    receiver.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.server.daemon_threads = True
    threading.Thread(target=receiver.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return receiver


def stop_receiver(receiver: Receiver) -> None:
    receiver.released.set()
    receiver.server.shutdown()
    receiver.server.server_close()
