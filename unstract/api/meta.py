"""Routes outside the org base: health check and the Swagger UI page."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Blueprint, Flask, current_app, jsonify, render_template
from sqlalchemy import text

from unstract.extensions import db, rq

CHECK_TIMEOUT_SECONDS = 2
_checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="healthz")

meta = Blueprint("meta", __name__)


def _database_ok(app: Flask) -> bool:
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.remove()
    return True


def _redis_ok(app: Flask) -> bool:
    with app.app_context():
        return bool(rq.connection().ping())


def _run_check(check, app: Flask) -> str:
    try:
        return "ok" if _checks.submit(check, app).result(timeout=CHECK_TIMEOUT_SECONDS) else "error"
    except (FutureTimeout, Exception):
        return "error"


@meta.get("/healthz")
def healthz():
    """Database and Redis reachability, each within 2 seconds."""
    app = current_app._get_current_object()
    body = {"database": _run_check(_database_ok, app), "redis": _run_check(_redis_ok, app)}
    healthy = all(value == "ok" for value in body.values())
    return jsonify({"status": "ok" if healthy else "error", **body}), 200 if healthy else 503


@meta.get("/api/docs")
def swagger_ui():
    """Swagger UI from the application's own static files (no other host)."""
    return render_template("api_docs.html")


def register(app: Flask) -> None:
    app.register_blueprint(meta)
    app.add_url_rule(
        "/api/docs/static/<path:filename>",
        endpoint="swagger_static",
        view_func=lambda filename: app.send_static_file(f"swagger-ui/{filename}"),
    )
