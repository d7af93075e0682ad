"""The entity layer: one mention per document span, in-document links, document-scoped entities and the
evidence of each merge (see lexprep/models.py Mention, Entity, MergeRecord).

- ``mentions``: ``link_id`` (the id of the mention in the same document this one stands for: a defined
  term, a role word, a surname, "Id."), ``link_method``, ``scope`` (``matter`` or ``document``), ``attrs``
  (JSON: a case's name, parenthetical, pin cite, parallel citations; a definition's evidence).
- ``entities``: ``document_id`` (set for an entity resolved inside one document only).
- ``entity_merges``: ``evidence``.

Every new column is nullable with no default, so existing rows need no rewrite (on SQLite a plain
``ALTER TABLE ... ADD COLUMN``). Documents stored by pipeline version 1 are redone by the next run.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

NEW_COLUMNS = {
    'mentions': (
        lambda: sa.Column('link_id', sa.String(length=32), nullable=True),
        lambda: sa.Column('link_method', sa.String(length=32), nullable=True),
        lambda: sa.Column('scope', sa.String(length=16), nullable=True),
        lambda: sa.Column('attrs', sa.JSON(), nullable=True),
    ),
    'entities': (lambda: sa.Column('document_id', sa.String(length=32), nullable=True),),
    'entity_merges': (lambda: sa.Column('evidence', sa.Text(), nullable=True),),
}


def upgrade() -> None:
    """Upgrade schema."""
    for table, columns in NEW_COLUMNS.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.add_column(column())


def downgrade() -> None:
    """Downgrade schema (columns dropped in place, never by batch mode's copy-and-rename)."""
    for table, columns in reversed(NEW_COLUMNS.items()):
        with op.batch_alter_table(table, recreate='never') as batch_op:
            for column in reversed(columns):
                batch_op.drop_column(column().name)
