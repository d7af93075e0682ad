"""Media and costs: transcript segments, the OCR record of a page, a chunk's time range and speakers,
and a document's cost ledger (see lexprep/models.py and lexprep/store/schema.py).

Every new column is nullable with no default, so existing rows need no rewrite: on SQLite the batch
operations below emit a plain ``ALTER TABLE ... ADD COLUMN`` (no table copy).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

#: columns added to existing tables, by table
NEW_COLUMNS = {
    'documents': (lambda: sa.Column('costs', sa.JSON(), nullable=True),),
    'pages': (
        lambda: sa.Column('dpi', sa.Integer(), nullable=True),
        lambda: sa.Column('attempts', sa.JSON(), nullable=True),
    ),
    'chunks': (
        lambda: sa.Column('start_s', sa.Float(), nullable=True),
        lambda: sa.Column('end_s', sa.Float(), nullable=True),
        lambda: sa.Column('speakers', sa.JSON(), nullable=True),
    ),
}


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('segments',
    sa.Column('document_id', sa.String(length=32), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('start_s', sa.Float(), nullable=False),
    sa.Column('end_s', sa.Float(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('speaker', sa.Text(), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('channel', sa.Integer(), nullable=True),
    sa.Column('char_start', sa.Integer(), nullable=True),
    sa.Column('char_end', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_segments_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'idx', name=op.f('pk_segments'))
    )
    for table, columns in NEW_COLUMNS.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.add_column(column())


def downgrade() -> None:
    """Downgrade schema.

    Columns are dropped in place (``ALTER TABLE ... DROP COLUMN``, SQLite 3.35+), never by batch mode's
    copy-and-rename: on SQLite with foreign keys on, dropping the old ``documents`` table would cascade
    and delete every page, chunk and mention. An older SQLite fails here instead of losing rows.
    """
    for table, columns in reversed(NEW_COLUMNS.items()):
        with op.batch_alter_table(table, recreate='never') as batch_op:
            for column in reversed(columns):
                batch_op.drop_column(column().name)
    op.drop_table('segments')
