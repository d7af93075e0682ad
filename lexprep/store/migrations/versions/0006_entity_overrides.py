"""Entity overrides: a person's split or merge of a matter's entities, which every later resolution
replays (lexprep/store/schema.py EntityOverrideRow, lexprep/resolve/overrides.py).

A new table only; nothing existing is rewritten.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('entity_overrides',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('matter_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('entity_id', sa.String(length=32), nullable=False),
    sa.Column('other_entity_id', sa.String(length=32), nullable=True),
    sa.Column('alias', sa.Text(), nullable=True),
    sa.Column('mention_id', sa.String(length=32), nullable=True),
    sa.Column('label', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('author', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_entity_overrides_matter_id_matters'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entity_overrides'))
    )
    op.create_index(op.f('ix_entity_overrides_matter_id'), 'entity_overrides', ['matter_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_entity_overrides_matter_id'), table_name='entity_overrides')
    op.drop_table('entity_overrides')
