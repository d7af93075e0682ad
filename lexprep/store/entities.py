"""The entity aggregate of the store: mentions as resolution reads them, entities with their merge log,
and the graph's edges.

:class:`EntityRepository` works through its :class:`lexprep.store.repository.Store` (sessions, the
SQLite write lock, the Postgres matter lock, bulk inserts); ``store.entities`` gives one. Errors as
in lexprep.store.repository: a lost connection is a TransientError, inconsistent input a ValueError.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Text, delete, exists, func, insert, literal, select, update

from lexprep.models import Entity, MergeRecord, Relationship, stable_id
from lexprep.store import schema as t
from lexprep.store.repository import EXPORT_YIELD_PER, _float, _json_safe, _text, _value, relationship_id_for

log = logging.getLogger("lexprep.store.repository")


class MentionRow(NamedTuple):
    """A stored mention as resolution reads it (see models.Mention for the fields)."""

    id: str
    label: str
    text: str
    normalized: str | None
    document_id: str
    link_id: str | None
    link_method: str | None
    scope: str | None
    attrs: dict | None


class GraphInputs(NamedTuple):
    """What lexprep.graph.build_relationships is built from (see EntityRepository.graph_inputs)."""

    documents: list[tuple[str, str | None]]
    chunks: list[tuple[str, str, int, int]]
    mentions: list[tuple[str, int, int, str]]
    entity_labels: dict[str, str]
    scoped_entities: set[str]


#: temporary tables for set-based writes (created and dropped inside one write transaction)
_TEMP = MetaData()
_TMP_LINKS = Table(
    "lexprep_tmp_links",
    _TEMP,
    Column("mention_id", String(32), primary_key=True),
    Column("entity_id", String(32), nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
_TMP_ENTITIES = Table(
    "lexprep_tmp_entities",
    _TEMP,
    Column("id", String(32), primary_key=True),
    Column("label", String(32), nullable=False),
    Column("name", Text, nullable=False),
    Column("aliases", JSON, nullable=False),
    Column("mention_count", Integer, nullable=False),
    Column("document_id", String(32), nullable=True),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)



class EntityRepository:
    """Mentions, entities, the merge log and the graph of a store's matters."""

    def __init__(self, store: Any):
        self.store = store


    def list_mentions(self, matter_id: str) -> list[MentionRow]:
        """Every mention of the matter in reading order (by document, then position), as
        :class:`MentionRow` tuples ``(id, label, text, normalized, document_id, link_id, link_method,
        scope, attrs)``."""
        m = t.mentions.c
        with self.store._read() as s:
            rows = s.execute(
                select(m.id, m.label, m.text, m.normalized, m.document_id, m.link_id, m.link_method, m.scope, m.attrs)
                .where(m.matter_id == matter_id)
                .order_by(m.document_id, m.doc_start, m.doc_end, m.id)
                .execution_options(yield_per=EXPORT_YIELD_PER)
            )
            return [MentionRow(*r) for r in rows]

    def replace_entities(
        self,
        matter_id: str,
        entities: list[Entity],
        assignments: dict[str, str],
        merges: list[MergeRecord],
    ) -> None:
        """Replace the matter's entities and merge log, and link mentions to entities.

        Afterwards the matter has exactly ``entities``, ``merges``, and mention links equal to
        ``assignments`` (mention id -> entity id; every other mention of the matter unlinked). Mention
        ids not in the store (or of another matter) are ignored. Merge rows get
        ``id = stable_id(matter_id, entity_id, label, alias, method)`` and ``seq`` = list position.

        Set-based, in one transaction (on Postgres also under the matter's advisory lock): the
        assignments and entities are loaded into temporary tables (``COPY`` on Postgres, executemany
        on SQLite); mentions whose link changes are unlinked with one UPDATE; entities no longer
        present are deleted, kept ones updated and new ones inserted (so mentions that keep their
        entity are never rewritten); the merge log is replaced; the new links are set with one
        ``UPDATE ... FROM``. Re-running an unchanged resolution writes no mention row.

        Raises:
            ValueError: an assignment or merge names an entity not in ``entities``, or an entity id
                belongs to another matter.
        """
        entity_rows: dict[str, dict[str, Any]] = {}
        for e in entities:
            entity_rows[e.id] = {
                "id": e.id,
                "matter_id": matter_id,
                "label": _value(e.label),
                "name": _text(e.name),
                "aliases": _json_safe(list(e.aliases)),
                "mention_count": e.mention_count,
                "document_id": e.document_id,
            }
        unknown = {eid for eid in assignments.values() if eid not in entity_rows}
        unknown |= {mr.entity_id for mr in merges if mr.entity_id not in entity_rows}
        if unknown:
            raise ValueError(f"{len(unknown)} entity ids are assigned or merged but not in the entity list")
        merge_rows: dict[str, dict[str, Any]] = {}
        for seq, mr in enumerate(merges):
            label = _value(mr.label)
            mid = stable_id(matter_id, mr.entity_id, label, mr.alias, mr.method)
            merge_rows.setdefault(
                mid,
                {
                    "id": mid,
                    "matter_id": matter_id,
                    "entity_id": mr.entity_id,
                    "seq": seq,
                    "label": label,
                    "alias": _text(mr.alias),
                    "canonical": _text(mr.canonical),
                    "method": mr.method,
                    "score": _float(mr.score) or 0.0,
                    "evidence": _text(mr.evidence),
                },
            )
        links = [{"mention_id": mention_id, "entity_id": entity_id} for mention_id, entity_id in assignments.items()]
        new_entities = [{k: v for k, v in row.items() if k != "matter_id"} for row in entity_rows.values()]
        m, e, lk, ne = t.mentions.c, t.entities.c, _TMP_LINKS.c, _TMP_ENTITIES.c
        with self.store._write() as s:
            self.store._lock_matter(s, matter_id)
            conn = s.connection()
            for tmp in (_TMP_LINKS, _TMP_ENTITIES):
                if self.store.is_sqlite:  # left over by a connection that died mid-transaction
                    conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{tmp.name}")
                tmp.create(conn)
            self.store._insert_many(s, _TMP_LINKS, links)
            self.store._insert_many(s, _TMP_ENTITIES, new_entities)
            if not self.store.is_sqlite:  # temporary tables are never auto-analysed: give the planner row counts
                conn.exec_driver_sql(f"ANALYZE {_TMP_LINKS.name}, {_TMP_ENTITIES.name}")
            foreign = s.execute(
                select(func.count()).select_from(_TMP_ENTITIES.join(t.entities, e.id == ne.id))
                .where(e.matter_id != matter_id)
            ).scalar_one()
            if foreign:
                raise ValueError(f"{foreign} entity ids already belong to another matter")
            # 1. unlink mentions whose entity changes or goes (before their entity can be deleted)
            s.execute(
                update(t.mentions)
                .where(
                    m.matter_id == matter_id,
                    m.entity_id.is_not(None),
                    ~exists().where(lk.mention_id == m.id, lk.entity_id == m.entity_id),
                )
                .values(entity_id=None)
            )
            # 2. the merge log and the entities: delete what went, update what stayed, insert what is new
            s.execute(delete(t.entity_merges).where(t.entity_merges.c.matter_id == matter_id))
            s.execute(delete(t.entities).where(e.matter_id == matter_id, ~exists().where(ne.id == e.id)))
            s.execute(
                update(t.entities)
                .where(e.id == ne.id, e.matter_id == matter_id)
                .values(label=ne.label, name=ne.name, aliases=ne.aliases, mention_count=ne.mention_count,
                        document_id=ne.document_id)
            )
            s.execute(
                insert(t.entities).from_select(
                    ["id", "matter_id", "label", "name", "aliases", "mention_count", "document_id"],
                    select(ne.id, literal(matter_id, t.entities.c.matter_id.type), ne.label, ne.name, ne.aliases,
                           ne.mention_count, ne.document_id).where(~exists().where(e.id == ne.id)),
                )
            )
            self.store._insert_many(s, t.entity_merges, list(merge_rows.values()))
            # 3. link: one UPDATE ... FROM, touching only mentions whose entity differs
            s.execute(
                update(t.mentions)
                .where(m.id == lk.mention_id, m.matter_id == matter_id, m.entity_id.is_distinct_from(lk.entity_id))
                .values(entity_id=lk.entity_id)
            )
            for tmp in (_TMP_LINKS, _TMP_ENTITIES):
                tmp.drop(conn)
        log.debug("matter %s: %d entities, %d merges, %d mention links", matter_id, len(entity_rows),
                  len(merge_rows), len(links))

    def graph_inputs(self, matter_id: str) -> GraphInputs:
        """What the graph builder needs, as plain tuples (see :class:`GraphInputs`): documents
        ``(id, parent_id)``; chunks ``(id, document_id, char_start, char_end)`` in document and chunk
        order; linked mentions ``(document_id, doc_start, doc_end, entity_id)`` in document order;
        ``{entity_id: label}``; the ids of document-scoped entities."""
        d, c, m, e = t.documents.c, t.chunks.c, t.mentions.c, t.entities.c
        with self.store._read() as s:
            docs = [tuple(r) for r in s.execute(select(d.id, d.parent_id).where(d.matter_id == matter_id).order_by(d.id))]
            chunks = [tuple(r) for r in s.execute(
                select(c.id, c.document_id, c.char_start, c.char_end).where(c.matter_id == matter_id)
                .order_by(c.document_id, c.chunk_index))]
            mentions = [tuple(r) for r in s.execute(
                select(m.document_id, m.doc_start, m.doc_end, m.entity_id)
                .where(m.matter_id == matter_id, m.entity_id.is_not(None))
                .order_by(m.document_id, m.doc_start, m.doc_end))]
            labels: dict[str, str] = {}
            scoped: set[str] = set()
            for eid, label, doc in s.execute(select(e.id, e.label, e.document_id).where(e.matter_id == matter_id)):
                labels[eid] = label
                if doc is not None:
                    scoped.add(eid)
        return GraphInputs(docs, chunks, mentions, labels, scoped)  # type: ignore[arg-type]

    def replace_relationships(self, matter_id: str, relationships: list[Relationship]) -> None:
        """Replace the matter's graph edges (one transaction).

        ``id = stable_id(matter_id, source_id, target_id, type)``; when two edges share it, the last wins.
        """
        rows: dict[str, dict[str, Any]] = {}
        for r in relationships:
            rid = relationship_id_for(matter_id, r.source_id, r.target_id, _value(r.type))
            rows[rid] = {
                "id": rid,
                "matter_id": matter_id,
                "source_kind": r.source_kind,
                "source_id": r.source_id,
                "target_kind": r.target_kind,
                "target_id": r.target_id,
                "type": _value(r.type),
                "weight": _float(r.weight) if _float(r.weight) is not None else 1.0,
                "evidence_chunk_id": r.evidence_chunk_id,
                "role": _text(r.role),
            }
        with self.store._write() as s:
            self.store._lock_matter(s, matter_id)
            s.execute(delete(t.relationships).where(t.relationships.c.matter_id == matter_id))
            self.store._insert_many(s, t.relationships, list(rows.values()))

