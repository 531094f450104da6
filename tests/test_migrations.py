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
