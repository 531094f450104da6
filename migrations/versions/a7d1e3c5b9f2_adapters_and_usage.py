"""adapters and usage: LLM connections of an organization, and the LLM usage of each file execution

Revision ID: a7d1e3c5b9f2
Revises: 329f77a75e25
Create Date: 2026-12-06 03:00:00.000000

An adapter keeps its API key only sealed (Fernet, like connector secrets) next to the key's last 4
characters, which the API shows as a hint. File executions count the tokens, calls and cost of their
LLM calls, and executions their sum (docs/EXECUTION.md, Usage and cost).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'a7d1e3c5b9f2'
down_revision = '329f77a75e25'
branch_labels = None
depends_on = None

USAGE_TABLES = ('execution', 'file_execution')
JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade():
    op.create_table(
        'adapter',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('organization_id', sa.Uuid(), nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('adapter_type', sa.String(length=16), nullable=False),
        sa.Column('provider', sa.String(length=32), nullable=False),
        sa.Column('config', JSON, nullable=False),
        sa.Column('sealed_api_key', sa.Text(), nullable=False),
        sa.Column('api_key_last4', sa.String(length=4), nullable=False),
        sa.Column('created_by', sa.Uuid(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('modified_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by'], ['user_account.id'],
                                name=op.f('fk_adapter_created_by_user_account'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['organization_id'], ['organization.id'],
                                name=op.f('fk_adapter_organization_id_organization'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_adapter')),
        sa.UniqueConstraint('organization_id', 'name', name=op.f('uq_adapter_organization_id_name')),
    )
    for table in USAGE_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('prompt_tokens', sa.BigInteger(), nullable=False, server_default='0'))
            batch.add_column(sa.Column('completion_tokens', sa.BigInteger(), nullable=False, server_default='0'))
            batch.add_column(sa.Column('llm_calls', sa.Integer(), nullable=False, server_default='0'))
            batch.add_column(sa.Column('cost_usd', sa.Float(), nullable=True))


def downgrade():
    for table in USAGE_TABLES:
        with op.batch_alter_table(table) as batch:
            for column in ('cost_usd', 'llm_calls', 'completion_tokens', 'prompt_tokens'):
                batch.drop_column(column)
    op.drop_table('adapter')
