"""schedules: cron schedules of workflows and one row per fired due time

Revision ID: 5c7d2e9a4b11
Revises: 5d1c8e2a7f43
Create Date: 2026-12-06 03:00:00.000000

The unique (schedule_id, due_at) of schedule_run is what makes a due time fire once, whatever the
number of workers (docs/EXECUTION.md, Schedules).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5c7d2e9a4b11'
down_revision = '5d1c8e2a7f43'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('schedule',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('workflow_id', sa.Uuid(), nullable=False),
    sa.Column('cron', sa.String(length=128), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('description', sa.String(length=490), nullable=False),
    sa.Column('allow_overlap', sa.Boolean(), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_run_status', sa.String(length=16), nullable=True),
    sa.Column('last_execution_id', sa.Uuid(), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_schedule_created_by_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['last_execution_id'], ['execution.id'], name=op.f('fk_schedule_last_execution_id_execution'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_schedule_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflow.id'], name=op.f('fk_schedule_workflow_id_workflow'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule'))
    )
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_due', ['is_active', 'next_run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_schedule_workflow_id'), ['workflow_id'], unique=False)

    op.create_table('schedule_run',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('schedule_id', sa.Uuid(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=490), nullable=False),
    sa.Column('execution_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['execution_id'], ['execution.id'], name=op.f('fk_schedule_run_execution_id_execution'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedule.id'], name=op.f('fk_schedule_run_schedule_id_schedule'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_run')),
    sa.UniqueConstraint('schedule_id', 'due_at', name='uq_schedule_run_due')
    )
    with op.batch_alter_table('schedule_run', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_run_status_claimed', ['status', 'claimed_at'], unique=False)


def downgrade():
    op.drop_table('schedule_run')
    op.drop_table('schedule')
