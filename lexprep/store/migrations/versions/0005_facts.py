"""Facts: structured facts per document with verbatim evidence (lexprep.facts, models.Fact), and the
role of a typed graph edge (PARTY_TO's role, RECEIVED's to/cc/bcc).

- new table ``facts`` (deleted with its document or matter; ``entity_id`` set null when the entity goes);
- ``relationships.role``: nullable, no default, so existing rows need no rewrite (SQLite: a plain
  ``ALTER TABLE ... ADD COLUMN``).

Documents stored by pipeline version 2 are redone by the next run (their facts appear then).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('facts',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('matter_id', sa.String(length=32), nullable=False),
    sa.Column('document_id', sa.String(length=32), nullable=False),
    sa.Column('chunk_id', sa.String(length=32), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('normalized', sa.Text(), nullable=True),
    sa.Column('role', sa.Text(), nullable=True),
    sa.Column('mention_id', sa.String(length=32), nullable=True),
    sa.Column('entity_id', sa.String(length=32), nullable=True),
    sa.Column('evidence_start', sa.Integer(), nullable=False),
    sa.Column('evidence_end', sa.Integer(), nullable=False),
    sa.Column('evidence_text', sa.Text(), nullable=False),
    sa.Column('evidence_source', sa.String(length=16), nullable=False),
    sa.Column('page', sa.Integer(), nullable=True),
    sa.Column('start_s', sa.Float(), nullable=True),
    sa.Column('end_s', sa.Float(), nullable=True),
    sa.Column('extractor', sa.Text(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('attrs', sa.JSON(), nullable=True),
    sa.Column('quarantined', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_facts_document_id_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entity_id'], ['entities.id'], name=op.f('fk_facts_entity_id_entities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_facts_matter_id_matters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facts'))
    )
    op.create_index(op.f('ix_facts_document_id'), 'facts', ['document_id'], unique=False)
    op.create_index(op.f('ix_facts_entity_id'), 'facts', ['entity_id'], unique=False)
    op.create_index('ix_facts_matter_id_kind', 'facts', ['matter_id', 'kind'], unique=False)
    with op.batch_alter_table('relationships') as batch_op:
        batch_op.add_column(sa.Column('role', sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema (the column dropped in place, never by batch mode's copy-and-rename)."""
    with op.batch_alter_table('relationships', recreate='never') as batch_op:
        batch_op.drop_column('role')
    op.drop_index('ix_facts_matter_id_kind', table_name='facts')
    op.drop_index(op.f('ix_facts_entity_id'), table_name='facts')
    op.drop_index(op.f('ix_facts_document_id'), table_name='facts')
    op.drop_table('facts')
