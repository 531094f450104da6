"""GET /metrics on the web server, and `unstract worker --metrics-port` (docs/OBSERVABILITY.md, Metrics)."""

from __future__ import annotations

import hmac
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from flask import Flask, Response, g, request

from unstract import logcontext, metrics
from unstract.extensions import rq
from unstract.logcontext import REQUEST_ID_HEADER

WSGI_REQUEST_ID = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")
UNAUTHORIZED = b"A valid metrics token is required (Authorization: Bearer <UNSTRACT_METRICS_TOKEN>).\n"


def token_accepted(expected: str | None, authorization: str | None) -> bool:
    """No token configured: open. Otherwise `Authorization: Bearer <token>`, compared in constant time."""
    if not expected:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


def _service_queues() -> list:
    return [rq.queue()]


def register_metrics(app: Flask) -> None:
    """The /metrics route, and the request counter and timer of every request."""

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count_request(response):
        started = g.get("metrics_started")
        if started is not None and request.path != "/metrics":
            endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
            metrics.observe_request(request.method, endpoint, response.status_code, time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def scrape():
        if not token_accepted(app.config["UNSTRACT_SETTINGS"].metrics_token, request.headers.get("Authorization")):
            return Response(UNAUTHORIZED, 401, {"WWW-Authenticate": "Bearer", "Content-Type": "text/plain"})
        body, content_type = metrics.exposition(_service_queues)
        return Response(body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"})


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *_args) -> None:  # scrapes are not worth a log line each
        pass


class _ThreadingServer(WSGIServer):
    daemon_threads = True

    def process_request(self, request, client_address):
        threading.Thread(target=self._serve_one, args=(request, client_address), daemon=True).start()

    def _serve_one(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - one broken scrape must not stop the server
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


def with_common_headers(application):
    """Every answer of the bare WSGI server carries what the web's do: the request id (the caller's when
    acceptable, else a generated one) and `Cache-Control: no-store`."""

    def wrapped(environ, start_response):
        request_id = logcontext.request_id_from(environ.get(WSGI_REQUEST_ID))

        def start_with_headers(status, headers, exc_info=None):
            extra = [(REQUEST_ID_HEADER, request_id), ("Cache-Control", "no-store")]
            return start_response(status, [*headers, *extra], exc_info)

        return application(environ, start_with_headers)

    return wrapped


def serve_worker_metrics(app: Flask, host: str, port: int) -> WSGIServer:
    """A small HTTP server in a daemon thread answering /metrics as the web does (same token rule)."""

    def queues():
        with app.app_context():
            return _service_queues()

    def scrape(environ, start_response):
        if environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not found.\n"]
        token = app.config["UNSTRACT_SETTINGS"].metrics_token
        if not token_accepted(token, environ.get("HTTP_AUTHORIZATION")):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
            return [UNAUTHORIZED]
        with app.app_context():
            body, content_type = metrics.exposition(queues)
        start_response("200 OK", [("Content-Type", content_type)])
        return [body]

    server = make_server(host, port, with_common_headers(scrape), server_class=_ThreadingServer,
                         handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
