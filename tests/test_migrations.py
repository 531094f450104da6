"""Migrations: one head, and an empty database upgraded to head matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from tests.support import build_app, requires_postgres, scratch_postgres_database
from unstract.app import MIGRATIONS_DIR
from unstract.extensions import db


def test_migrations_have_exactly_one_head():
    heads = ScriptDirectory(str(MIGRATIONS_DIR)).get_heads()
    assert len(heads) == 1, heads


def schema_differences(env: dict) -> list:
    """Upgrade the database of `env` from empty to head and compare it with the models."""
    app = build_app(env)
    with app.app_context():
        try:
            upgrade()
            with db.engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                head = context.get_current_revision()
                differences = compare_metadata(context, db.metadata)
        finally:
            db.session.remove()
            db.engine.dispose()
    assert head == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    return differences


def test_empty_sqlite_database_upgrades_to_a_schema_matching_the_models(base_env, tmp_path):
    env = {**base_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'migrated.db'}"}
    assert schema_differences(env) == []


@requires_postgres
def test_empty_postgresql_database_upgrades_to_a_schema_matching_the_models(base_env):
    with scratch_postgres_database("mig") as url:
        assert schema_differences({**base_env, "DATABASE_URL": url}) == []


def backfilled_sizes(env: dict) -> tuple[dict, dict]:
    """History rows written at the revision before result_size, then upgraded to head: (expected, stored)."""
    import uuid
    from datetime import datetime

    import sqlalchemy as sa

    from unstract.models.base import JSONType, UTCDateTime
    from unstract.sizes import json_size

    app = build_app(env)
    outputs = {uuid.uuid4(): {"text": "naïve ✓", "n": [1, 2]}, uuid.uuid4(): None}
    moment = datetime(2026, 12, 1)
    with app.app_context():
        try:
            upgrade(revision="b9494307d1bd")  # the revision before result_size
            table = sa.Table("file_history", sa.MetaData(), *[sa.Column(name, kind) for name, kind in (
                ("id", sa.Uuid), ("workflow_id", sa.Uuid), ("cache_key", sa.String), ("path_key", sa.String),
                ("status", sa.String), ("execution_count", sa.Integer), ("error", sa.Text), ("result", JSONType),
                ("metadata", JSONType), ("created_at", UTCDateTime), ("modified_at", UTCDateTime))])
            with db.engine.begin() as connection:  # rows without their workflow: no foreign keys for now
                if db.engine.dialect.name == "sqlite":
                    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                else:
                    connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
                connection.execute(table.insert(), [
                    {"id": key, "workflow_id": uuid.uuid4(), "cache_key": key.hex, "path_key": key.hex,
                     "status": "COMPLETED", "execution_count": 1, "error": "",
                     "result": value, "metadata": {}, "created_at": moment, "modified_at": moment}
                    for key, value in outputs.items()])
            upgrade()
            with db.engine.connect() as connection:
                stored = {uuid.UUID(str(key)): size for key, size in connection.execute(
                    sa.text("SELECT id, result_size FROM file_history")).all()}
        finally:
            db.session.remove()
            db.engine.dispose()
    return {key: (0 if value is None else json_size(value)) for key, value in outputs.items()}, stored


def test_result_size_is_backfilled_for_existing_outputs_on_sqlite(base_env, tmp_path):
    expected, stored = backfilled_sizes({**base_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'backfill.db'}"})
    assert stored == expected


@requires_postgres
def test_result_size_is_backfilled_for_existing_outputs_on_postgresql(base_env):
    with scratch_postgres_database("fill") as url:
        expected, stored = backfilled_sizes({**base_env, "DATABASE_URL": url})
    assert stored == expected
