"""Quality gates: the quality_results table and a ``quarantined`` flag on documents, chunks and mentions
(see lexprep/quality and lexprep/store/schema.py).

The flag is added with a server default (false), so existing rows need no rewrite: on SQLite the batch
operations below emit a plain ``ALTER TABLE ... ADD COLUMN`` (no table copy).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

FLAGGED = ('documents', 'chunks', 'mentions')


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('quality_results',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('matter_id', sa.String(length=32), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_quality_results_matter_id_matters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_quality_results_run_id_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_results'))
    )
    op.create_index('ix_quality_results_matter_id', 'quality_results', ['matter_id'], unique=False)
    op.create_index('ix_quality_results_run_id', 'quality_results', ['run_id'], unique=False)
    for table in FLAGGED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(
                sa.Column('quarantined', sa.Boolean(), server_default=sa.false(), nullable=False)
            )


def downgrade() -> None:
    """Downgrade schema.

    The flag is dropped in place (``ALTER TABLE ... DROP COLUMN``, SQLite 3.35+), never by batch mode's
    copy-and-rename: on SQLite with foreign keys on, dropping the old ``documents`` table would cascade
    and delete every page, chunk and mention.
    """
    for table in reversed(FLAGGED):
        with op.batch_alter_table(table, recreate='never') as batch_op:
            batch_op.drop_column('quarantined')
    op.drop_index('ix_quality_results_run_id', table_name='quality_results')
    op.drop_index('ix_quality_results_matter_id', table_name='quality_results')
    op.drop_table('quality_results')
