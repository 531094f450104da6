"""notifications: webhooks of a workflow and their deliveries

Revision ID: 5c1f0a9d7e42
Revises: 5c7d2e9a4b11
Create Date: 2026-12-06 03:10:00.000000

Written by hand (docs/API.md, Notifications): a delivery row is written in the transaction that makes
its execution terminal, and holds the whole delivery state (the queue carries only its id).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '5c1f0a9d7e42'
down_revision = '5c7d2e9a4b11'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table('notification',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('workflow_id', sa.Uuid(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('events', JSON, nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('max_retries', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('authorization_type', sa.String(length=16), nullable=False),
    sa.Column('authorization_key', sa.Text(), nullable=True),
    sa.Column('authorization_header', sa.String(length=128), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflow.id'], name=op.f('fk_notification_workflow_id_workflow'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'],
                            name=op.f('fk_notification_created_by_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    op.create_index('ix_notification_workflow', 'notification', ['workflow_id', 'created_at'], unique=False)
    op.create_table('delivery',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('notification_id', sa.Uuid(), nullable=False),
    sa.Column('execution_id', sa.Uuid(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('last_response_body', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'],
                            name=op.f('fk_delivery_notification_id_notification'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['execution_id'], ['execution.id'], name=op.f('fk_delivery_execution_id_execution'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery'))
    )
    op.create_index('ix_delivery_notification_created', 'delivery', ['notification_id', 'created_at', 'id'],
                    unique=False)
    op.create_index('ix_delivery_status_next', 'delivery', ['status', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_delivery_execution_id'), 'delivery', ['execution_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_delivery_execution_id'), table_name='delivery')
    op.drop_index('ix_delivery_status_next', table_name='delivery')
    op.drop_index('ix_delivery_notification_created', table_name='delivery')
    op.drop_table('delivery')
    op.drop_index('ix_notification_workflow', table_name='notification')
    op.drop_table('notification')
