"""api deployments: deployments, their keys (digests), the executions they started, idempotency claims

Revision ID: a14d3e7c9b21
Revises: a7d1e3c5b9f2
Create Date: 2026-12-06 02:54:46.541472

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import unstract.models.base

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

# revision identifiers, used by Alembic.
revision = 'a14d3e7c9b21'
down_revision = 'a7d1e3c5b9f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_deployment',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('workflow_id', sa.Uuid(), nullable=False),
    sa.Column('display_name', sa.String(length=128), nullable=False),
    sa.Column('api_name', sa.String(length=30), nullable=False),
    sa.Column('description', sa.String(length=490), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', unstract.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('modified_at', unstract.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_api_deployment_created_by_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_api_deployment_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflow.id'], name=op.f('fk_api_deployment_workflow_id_workflow'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_deployment')),
    sa.UniqueConstraint('organization_id', 'api_name', name='uq_api_deployment_org_name')
    )
    with op.batch_alter_table('api_deployment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_deployment_workflow_id'), ['workflow_id'], unique=False)

    op.create_table('deployment_key',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('deployment_id', sa.Uuid(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('key_prefix', sa.String(length=8), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', unstract.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_deployment_key_created_by_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['deployment_id'], ['api_deployment.id'], name=op.f('fk_deployment_key_deployment_id_api_deployment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_deployment_key_key_hash'))
    )
    with op.batch_alter_table('deployment_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployment_key_deployment_id'), ['deployment_id'], unique=False)

    op.create_table('idempotency_claim',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('execution_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', unstract.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['execution_id'], ['execution.id'], name=op.f('fk_idempotency_claim_execution_id_execution'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_idempotency_claim_organization_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_claim')),
    sa.UniqueConstraint('organization_id', 'key', name='uq_idempotency_claim_org_key')
    )
    op.create_table('deployment_run',
    sa.Column('execution_id', sa.Uuid(), nullable=False),
    sa.Column('deployment_id', sa.Uuid(), nullable=False),
    sa.Column('key_id', sa.Uuid(), nullable=True),
    sa.Column('tags', JSON, nullable=False),
    sa.Column('custom_data', JSON, nullable=True),
    sa.Column('created_at', unstract.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['api_deployment.id'], name=op.f('fk_deployment_run_deployment_id_api_deployment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['execution_id'], ['execution.id'], name=op.f('fk_deployment_run_execution_id_execution'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['key_id'], ['deployment_key.id'], name=op.f('fk_deployment_run_key_id_deployment_key'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('execution_id', name=op.f('pk_deployment_run'))
    )
    with op.batch_alter_table('deployment_run', schema=None) as batch_op:
        batch_op.create_index('ix_deployment_run_deployment_created', ['deployment_id', 'created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('deployment_run', schema=None) as batch_op:
        batch_op.drop_index('ix_deployment_run_deployment_created')

    op.drop_table('deployment_run')
    op.drop_table('idempotency_claim')
    with op.batch_alter_table('deployment_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployment_key_deployment_id'))

    op.drop_table('deployment_key')
    with op.batch_alter_table('api_deployment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_deployment_workflow_id'))

    op.drop_table('api_deployment')
