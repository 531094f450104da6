"""Application factory: config -> extensions -> api -> web -> errors -> cli. Nothing runs at import."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import event

from unstract.config import flask_config, read_settings
from unstract.extensions import csrf, db, login_manager, migrate, rq
from unstract.fastpath import ORJSONProvider, register_read_only_requests
from unstract.logcontext import configure_logging
from unstract.proxies import check_trusted_proxies
from unstract.session_cookie import SessionCookieInterface

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def create_app(overrides: dict | None = None) -> Flask:
    """Compose the application; `overrides` replaces config keys (tests pass UNSTRACT_SETTINGS)."""
    overrides = dict(overrides or {})
    settings = overrides.pop("UNSTRACT_SETTINGS", None) or read_settings()
    app = Flask(
        "unstract",
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(flask_config(settings))
    app.config.update(overrides)
    configure_logging(settings.log_format)
    app.url_map.strict_slashes = False
    app.json = ORJSONProvider(app)
    check_trusted_proxies(settings.trusted_proxies)
    app.session_interface = SessionCookieInterface()
    from unstract.metrics_http import register_metrics
    from unstract.request_ids import register_request_ids

    register_request_ids(app)  # first: every response carries the id, whichever hook answers
    register_metrics(app)
    _init_extensions(app)

    from unstract.api import errors as api_errors
    from unstract.api import register_api
    from unstract.cli import register_cli
    from unstract.hosts import register_host_check
    from unstract.http_errors import UnstractRequest, register_error_handlers
    from unstract.memory import register_memory_release
    from unstract.security import register_security_headers
    from unstract.web import errors as page_errors
    from unstract.web import register_web

    register_host_check(app)
    app.request_class = UnstractRequest
    register_api(app)
    register_web(app)
    register_error_handlers(app, lambda: api_errors if api_errors.is_api_request() else page_errors)
    register_security_headers(app)
    register_memory_release(app)
    register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    login_manager.init_app(app)
    login_manager.login_view = "web_auth.login"
    csrf.init_app(app)
    rq.init_app(app)
    register_read_only_requests(app, db.session)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Cascades need foreign keys on; WAL lets the web read while workers write."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
