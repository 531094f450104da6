"""list indexes: keys at the end of list indexes, path prefix, log tail, execution status

Revision ID: 7b3d9c1e5a20
Revises: e4e10d0207ed
Create Date: 2026-11-28 12:00:00.000000

Written by hand (issue 6, docs/PERFORMANCE.md "Large histories and logs"): every list index ends with the
primary key so a page's keys come from the index alone; lower(file_path) is indexed for the
case-insensitive prefix filter (text_pattern_ops on PostgreSQL, whose ~>=~ / ~<~ range the query uses),
followed by the columns the filtered lists read;
(execution_id, id) serves the `after` tail; the log time index carries level_rank; the log file index
leads with file_execution_id (a deleted file execution's cascade searches it); executions get a
(workflow_id, status, …) index.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7b3d9c1e5a20'
down_revision = 'e4e10d0207ed'
branch_labels = None
depends_on = None

# (table, index, columns before, columns after); None: the index does not exist on that side.
CHANGES = [
    ('file_history', 'ix_file_history_wf_created', ['workflow_id', 'created_at'], ['workflow_id', 'created_at', 'id']),
    ('file_history', 'ix_file_history_wf_modified', ['workflow_id', 'modified_at'],
     ['workflow_id', 'modified_at', 'id']),
    ('file_history', 'ix_file_history_wf_status', ['workflow_id', 'status'],
     ['workflow_id', 'status', 'created_at', 'id']),
    ('file_history', 'ix_file_history_wf_path', ['workflow_id', 'file_path'], ['workflow_id', 'file_path', 'id']),
    ('execution', 'ix_execution_workflow_created', ['workflow_id', 'created_at'], ['workflow_id', 'created_at', 'id']),
    ('execution', 'ix_execution_workflow_status', None, ['workflow_id', 'status', 'created_at', 'id']),
    ('execution_log', 'ix_execution_log_exec_time_id', ['execution_id', 'event_time', 'id'],
     ['execution_id', 'event_time', 'id', 'level_rank']),
    ('execution_log', 'ix_execution_log_exec_file_id', ['execution_id', 'file_execution_id', 'id'], None),
    ('execution_log', 'ix_execution_log_file_exec_time', None,
     ['file_execution_id', 'execution_id', 'event_time', 'id']),
    ('execution_log', 'ix_execution_log_exec_id', None, ['execution_id', 'id']),
]
LOWER_PATH = 'ix_file_history_wf_lower_path'
# Neither database reads an index on lower(file_path) alone without the table (both want file_path itself);
# with these columns after it, prefix-filtered counts and page keys come from the index only.
LOWER_PATH_COLUMNS = ['file_path', 'status', 'execution_count', 'created_at', 'id']


def _lower_path():
    """lower(file_path), with the operator class that lets PostgreSQL search it by prefix in any locale."""
    if op.get_bind().dialect.name == 'postgresql':
        return sa.text('lower(file_path) text_pattern_ops')
    return sa.text('lower(file_path)')


def _apply(old_side: int, new_side: int) -> None:
    for change in CHANGES:
        table, name, old, new = change[0], change[1], change[old_side], change[new_side]
        if old is not None:
            op.drop_index(name, table_name=table)
        if new is not None:
            op.create_index(name, table, new, unique=False)


def upgrade():
    _apply(2, 3)
    op.create_index(LOWER_PATH, 'file_history', [sa.text('workflow_id'), _lower_path(), *LOWER_PATH_COLUMNS],
                    unique=False)


def downgrade():
    op.drop_index(LOWER_PATH, table_name='file_history')
    _apply(3, 2)
