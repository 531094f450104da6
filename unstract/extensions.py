"""Unbound Flask extensions; create_app binds them. Nothing here connects to anything at import."""

from __future__ import annotations

import threading

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

from unstract.fastpath import RequestSession

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION),
                session_options={"class_": RequestSession})
migrate = Migrate()
login_manager = LoginManager()
api = Api()
csrf = CSRFProtect()


class RQHolder:
    """Lazily builds the Redis connection and the `unstract` queue; state lives in app.extensions."""

    QUEUE_NAME = "unstract"

    def init_app(self, app) -> None:
        settings = app.config["UNSTRACT_SETTINGS"]
        app.extensions["rq"] = {"url": app.config.get("REDIS_URL"), "connection": None,
                                "socket": str(settings.data_dir / "redis.sock"),
                                "wakeups": settings.sync_wakeups, "listener": None, "lock": threading.Lock()}

    @staticmethod
    def _state():
        from flask import current_app

        return current_app.extensions["rq"]

    def connection(self):
        """Redis client from REDIS_URL, else the embedded server's unix socket."""
        from redis import Redis

        state = self._state()
        if state["connection"] is None:
            options = {"socket_connect_timeout": 2, "socket_timeout": 10, "health_check_interval": 30}
            if state["url"]:
                state["connection"] = Redis.from_url(state["url"], **options)
            else:
                state["connection"] = Redis(unix_socket_path=state["socket"], **options)
        return state["connection"]

    def wakeups_enabled(self) -> bool:
        """UNSTRACT_SYNC_WAKEUPS: synchronous waits are woken through Redis pub/sub (services/wakeups.py)."""
        return self._state()["wakeups"]

    def listener(self, build):
        """The app's one pub/sub listener, `build(connection)` on first use (services/wakeups.py)."""
        state = self._state()
        with state["lock"]:
            if state["listener"] is None:
                state["listener"] = build(self.connection())
            return state["listener"]

    def queue(self):
        from rq import Queue

        return Queue(self.QUEUE_NAME, connection=self.connection(), default_timeout=3600)


rq = RQHolder()
