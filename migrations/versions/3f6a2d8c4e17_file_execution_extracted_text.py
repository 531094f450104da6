"""file_execution.extracted_text: the text the file's first text-producing step extracted

Revision ID: 3f6a2d8c4e17
Revises: 8e2b4c6d1f30
Create Date: 2026-12-06 06:40:00.000000

Kept so a deployment run's include_extracted_text answers whatever the workflow's last step outputs.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '3f6a2d8c4e17'
down_revision = '8e2b4c6d1f30'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('file_execution', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extracted_text', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('file_execution', schema=None) as batch_op:
        batch_op.drop_column('extracted_text')
