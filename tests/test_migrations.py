"""Migrations: one head, and an empty database upgraded to head matches the models exactly."""

from __future__ import annotations

import pytest
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


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")
def test_result_size_is_backfilled_for_existing_outputs(base_env, tmp_path):
    """Rows written before the result_size column get the compact JSON size of their result (0 for none)."""
    import uuid
    from datetime import datetime

    import sqlalchemy as sa

    from unstract.sizes import json_size

    app = build_app({**base_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'backfill.db'}"})
    outputs = {uuid.uuid4(): {"text": "naïve ✓", "n": [1, 2]}, uuid.uuid4(): None}
    moment = datetime(2026, 12, 1)
    with app.app_context():
        try:
            upgrade(revision="7b3d9c1e5a20")
            table = sa.Table("file_history", sa.MetaData(), autoload_with=db.engine)
            with db.engine.begin() as connection:
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.execute(table.insert(), [
                    {"id": key.hex, "workflow_id": uuid.uuid4().hex, "cache_key": key.hex, "path_key": key.hex,
                     "status": "COMPLETED", "execution_count": 1, "error": "",
                     "result": value, "metadata": {}, "created_at": moment, "modified_at": moment}
                    for key, value in outputs.items()])
            upgrade()
            with db.engine.connect() as connection:
                sizes = dict(connection.exec_driver_sql("SELECT id, result_size FROM file_history").all())
        finally:
            db.session.remove()
            db.engine.dispose()
    assert sizes == {key.hex: (0 if value is None else json_size(value)) for key, value in outputs.items()}
