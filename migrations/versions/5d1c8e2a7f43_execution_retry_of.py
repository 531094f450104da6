"""execution retry_of: the execution whose failed files a retry runs again

Revision ID: 5d1c8e2a7f43
Revises: a14d3e7c9b21
Create Date: 2026-12-06 03:00:00.000000

A retry is a new execution pointing at the one it retries; deleting the older one leaves the link null.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5d1c8e2a7f43'
down_revision = 'a14d3e7c9b21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('execution') as batch:
        batch.add_column(sa.Column('retry_of', sa.Uuid(), nullable=True))
        batch.create_foreign_key(op.f('fk_execution_retry_of_execution'), 'execution', ['retry_of'], ['id'],
                                 ondelete='SET NULL')
        batch.create_index('ix_execution_retry_of', ['retry_of'], unique=False)


def downgrade():
    with op.batch_alter_table('execution') as batch:
        batch.drop_index('ix_execution_retry_of')
        batch.drop_constraint(op.f('fk_execution_retry_of_execution'), type_='foreignkey')
        batch.drop_column('retry_of')
