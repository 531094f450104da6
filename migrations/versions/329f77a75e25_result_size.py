"""result size: the compact JSON size of each stored file output, backfilled

Revision ID: 329f77a75e25
Revises: b9494307d1bd
Create Date: 2026-12-06 02:30:00.000000

Lists show a file's output only when it is small and must not read a large one to find out, so the
size is kept next to it (docs/SECURITY.md, Bounded sizes). Existing outputs are measured here, in batches.
"""
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '329f77a75e25'
down_revision = 'b9494307d1bd'
branch_labels = None
depends_on = None

TABLES = ('file_execution', 'file_history')
BATCH = 500


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('result_size', sa.BigInteger(), nullable=False, server_default='0'))
        backfill(table)


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('result_size')


def backfill(table: str) -> None:
    """result_size of every row with a result, BATCH rows at a time (the same measure as unstract.sizes)."""
    connection = op.get_bind()
    rows = sa.table(table, sa.column('id', sa.Uuid()), sa.column('result', sa.JSON()),
                    sa.column('result_size', sa.BigInteger()))
    last = None
    while True:
        query = sa.select(rows.c.id, rows.c.result).where(rows.c.result.is_not(None)).order_by(rows.c.id).limit(BATCH)
        if last is not None:
            query = query.where(rows.c.id > last)
        batch = connection.execute(query).all()
        if not batch:
            return
        connection.execute(rows.update().where(rows.c.id == sa.bindparam('row_id')),
                           [{'row_id': row.id, 'result_size': size_of(row.result)} for row in batch])
        last = batch[-1].id


def size_of(value) -> int:
    """0 for none (a JSON null reads as None), else the compact UTF-8 size."""
    if value is None:
        return 0
    return len(json.dumps(value, ensure_ascii=False, separators=(',', ':')).encode('utf-8', 'surrogatepass'))
