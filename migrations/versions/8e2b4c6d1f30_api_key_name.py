"""api_key name: an optional label people give their keys

Revision ID: 8e2b4c6d1f30
Revises: 5c1f0a9d7e42
Create Date: 2026-12-06 05:45:00.000000

Existing keys get an empty name; lists show their prefix alone.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '8e2b4c6d1f30'
down_revision = '5c1f0a9d7e42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_key') as batch:
        batch.add_column(sa.Column('name', sa.String(length=64), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('api_key') as batch:
        batch.drop_column('name')
