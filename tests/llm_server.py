"""A local OpenAI-compatible server that stands in for an outside LLM service in the tests.

It is a real HTTP server process on loopback (`python -m tests.llm_server`, it prints `PORT <n>` once it
listens); the product reaches it through its real `openai` client, so nothing of the SDK or httpx is
replaced. Its answers are deterministic functions of the request:

- `POST /v1/chat/completions` with a `response_format` (`json_schema`, or `json_object` with the schema
  in the system message): a JSON object with one key per schema property. A property's value is taken
  from the first line `<Label>: <value>` of the first user message (the document) whose label,
  lower-cased with every run of non-alphanumerics turned into `_`, equals the property name
  (`Invoice number: INV-1` fills `invoice_number`). A plain number is sent as a JSON number, anything
  else as the string found ("1,250.50", "yes", "5 March 2024" reach the product as strings, for its
  coercion). An `array` property takes every matching line, each `k=v; k=v` becoming one object. No
  matching line -> null.
- Without a `response_format` (the adapter's test call) the reply is the text `OK`.
- `usage`: prompt_tokens = ceil(characters of all messages / 4), completion_tokens = ceil(characters of
  the reply / 4).
- `GET /v1/models`: the one model `test-model`.

Faults and latency, chosen by magic words in the user text (so each test document picks its own):
`[[llm:401]]`, `[[llm:500]]`, `[[llm:429]]` (with `Retry-After: 0` and `retry-after-ms: 20`),
`[[llm:404]]` (an unknown model), `[[llm:invalid-json]]` (a reply that is not JSON), each failing every
time, or only the first time a document is seen with a `-once` suffix (`[[llm:500-once]]`);
`[[llm:sleep=S]]` answers after S seconds (a timeout for a shorter client timeout);
the words also work in the request's `model` (the adapter's connection test sends no document).
Error replies carry `{"error": {"message": ...}}` like OpenAI's; a 401 quotes the key it was sent;
`[[llm:fence]]` wraps the JSON in a Markdown code fence. The key `bad-key` is refused with 401 on every
route. `--latency S` delays every answer (benchmarks).

Control endpoints for assertions: `GET /_control/requests` (every chat request received: its JSON body
and Authorization header), `GET /_control/stats` (`{"in_flight", "peak_in_flight", "completed"}`: chat
requests being answered now, the most ever answered at the same time, and how many were answered),
`POST /_control/reset` (forget requests, `-once` counters and the statistics).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

MODEL = "test-model"
REJECTED_KEY = "bad-key"
MAGIC = re.compile(r"\[\[llm:([a-z0-9=.\-]+)\]\]")
LINE = re.compile(r"^\s*([^:\n]{1,80}):[ \t]*(.*?)\s*$", re.MULTILINE)
PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class State:
    """What the server remembers between requests (guarded by one lock)."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.seen: dict[tuple[str, str], int] = {}
        self.in_flight = 0
        self.peak_in_flight = 0
        self.completed = 0

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1
            self.completed += 1

    def stats(self) -> dict:
        with self.lock:
            return {"in_flight": self.in_flight, "peak_in_flight": self.peak_in_flight,
                    "completed": self.completed}

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.seen.clear()
            self.peak_in_flight = self.in_flight
            self.completed = 0

    def first_time(self, fault: str, text: str) -> bool:
        """True the first time this fault word is met with this text."""
        with self.lock:
            key = (fault, text)
            self.seen[key] = self.seen.get(key, 0) + 1
            return self.seen[key] == 1


def label_key(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")


def scalar(value: str):
    if PLAIN_NUMBER.match(value):
        return float(value) if "." in value else int(value)
    return value


def row(value: str) -> dict:
    pairs = (part.split("=", 1) for part in value.split(";") if "=" in part)
    return {key.strip(): scalar(item.strip()) for key, item in pairs}


def fill(schema: dict, text: str) -> dict:
    """The reply object for `schema` from the `<Label>: <value>` lines of `text`."""
    found: dict[str, list[str]] = {}
    for label, value in LINE.findall(MAGIC.sub("", text)):
        found.setdefault(label_key(label), []).append(value)
    answer = {}
    for name, prop in (schema.get("properties") or {}).items():
        values = found.get(name)
        types = prop.get("type")
        is_array = types == "array" or (isinstance(types, list) and "array" in types)
        if not values:
            answer[name] = None
        elif is_array:
            answer[name] = [row(value) for value in values]
        else:
            answer[name] = scalar(values[0])
    return answer


def schema_in(body: dict) -> dict | None:
    """The JSON schema the client asked for: from response_format, or the first one in the system message."""
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return response_format["json_schema"]["schema"]
    if response_format.get("type") == "json_object":
        system = " ".join(m.get("content") or "" for m in body["messages"] if m.get("role") == "system")
        decoder = json.JSONDecoder()
        for start in (i for i, char in enumerate(system) if char == "{"):
            try:
                candidate, _ = decoder.raw_decode(system, start)
            except ValueError:
                continue
            if isinstance(candidate, dict) and "properties" in candidate:
                return candidate
        return {"properties": {}}
    return None


def tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # socketserver's 5 drops the connections of a burst of callers (a SYN retried 1 s later)


class Handler(BaseHTTPRequestHandler):
    server_version = "llm-test-server/1"
    protocol_version = "HTTP/1.1"

    @property
    def state(self) -> State:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format, *args):  # noqa: A002 - quiet: the tests read requests through /_control
        pass

    def send_json(self, status: int, payload, headers: dict | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status: int, message: str, headers: dict | None = None) -> None:
        self.send_json(status, {"error": {"message": message, "type": "test_server", "code": status}}, headers)

    def refuse_key(self) -> None:
        """401 quoting the key it was sent, as some services do: the product must redact it."""
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        self.error(401, f"Incorrect API key provided: {key}.")

    def authorized(self) -> bool:
        if self.headers.get("Authorization", "") == f"Bearer {REJECTED_KEY}":
            self.refuse_key()
            return False
        return True

    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path == "/_control/requests":
            with self.state.lock:
                self.send_json(200, list(self.state.requests))
        elif self.path == "/_control/stats":
            self.send_json(200, self.state.stats())
        elif self.path.rstrip("/") == "/v1/models":
            if self.authorized():
                self.send_json(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        else:
            self.error(404, "Not found.")

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path == "/_control/reset":
            self.state.reset()
            self.send_json(200, {"ok": True})
        elif self.path.rstrip("/") == "/v1/chat/completions":
            self.state.enter()
            try:
                self.chat(json.loads(raw or b"{}"))
            finally:
                self.state.leave()
        else:
            self.error(404, "Not found.")

    def chat(self, body: dict) -> None:
        with self.state.lock:
            self.state.requests.append({"body": body, "authorization": self.headers.get("Authorization", "")})
        # The first user message is the document; later ones (a repair request) do not change the answer.
        user = next((m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user"), "")
        words = MAGIC.findall(user) + MAGIC.findall(str(body.get("model", "")))
        if self.state.latency:
            time.sleep(self.state.latency)
        for word in words:
            if word.startswith("sleep="):
                time.sleep(float(word.split("=", 1)[1]))
        if not self.authorized() or self.fault(words, user):
            return
        schema = schema_in(body)
        if schema is None:
            content = "OK"
        else:
            content = json.dumps(fill(schema, user))
            if "fence" in words:
                content = f"```json\n{content}\n```"
        if self.fails("invalid-json", words, user):
            content = "Sorry, I cannot produce JSON for this."
        prompt = tokens("".join(m.get("content") or "" for m in body.get("messages", [])))
        completion = tokens(content)
        self.send_json(200, {
            "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", MODEL),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion},
        })

    def fails(self, fault: str, words: list[str], text: str) -> bool:
        if fault in words:
            return True
        return f"{fault}-once" in words and self.state.first_time(fault, text)

    def fault(self, words: list[str], text: str) -> bool:
        """Send the HTTP fault the text asks for; True when one was sent."""
        if self.fails("401", words, text):
            self.refuse_key()
        elif self.fails("404", words, text):
            self.error(404, "The model does not exist or you do not have access to it.")
        elif self.fails("429", words, text):
            self.error(429, "Rate limit reached.", {"Retry-After": "0", "retry-after-ms": "20"})
        elif self.fails("500", words, text):
            self.error(500, "The server had an error.")
        else:
            return False
        return True


def serve(port: int, latency: float, host: str = "127.0.0.1") -> None:
    server = Server((host, port), Handler)
    server.state = State(latency)  # type: ignore[attr-defined]
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


class LLMServer:
    """A running test server process and how to reach it."""

    def __init__(self, latency: float = 0.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.llm_server", "--latency", str(latency)],
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.process.kill()
            raise RuntimeError(f"the LLM test server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def _call(self, method: str, path: str):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                         "Connection: close\r\n\r\n".encode())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        return json.loads(data.split(b"\r\n\r\n", 1)[1])

    def requests(self) -> list[dict]:
        """Every chat request received since the last reset."""
        return self._call("GET", "/_control/requests")

    def stats(self) -> dict:
        """Chat requests in flight now, the peak since the last reset, and how many were answered."""
        return self._call("GET", "/_control/stats")

    def reset(self) -> None:
        self._call("POST", "/_control/reset")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="session")
def llm_server_process():
    server = LLMServer()
    yield server
    server.stop()


@pytest.fixture
def llm_server(llm_server_process):
    """The session's LLM test server, with its request log and `-once` counters reset."""
    llm_server_process.reset()
    return llm_server_process


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="OpenAI-compatible test server (stands in for an LLM service).")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (benchmarks in network namespaces)")
    arguments = parser.parse_args()
    serve(arguments.port, arguments.latency, arguments.host)
