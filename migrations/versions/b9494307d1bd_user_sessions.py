"""user sessions: one row per dashboard login, so logout and password changes end it on the server

Revision ID: b9494307d1bd
Revises: 7b3d9c1e5a20
Create Date: 2026-12-06 02:30:00.000000

Written by hand (docs/SECURITY.md, Sessions): the session cookie carries the row's random id; the
request's user is loaded through it (a primary-key lookup), and deleting the row revokes the login.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b9494307d1bd'
down_revision = '7b3d9c1e5a20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_session',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_session_user_id_user_account'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session'))
    )
    op.create_index(op.f('ix_user_session_user_id'), 'user_session', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_user_session_user_id'), table_name='user_session')
    op.drop_table('user_session')
