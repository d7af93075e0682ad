"""The overrides aggregate of the store: a person's splits and merges of a matter's entities
(``entity_overrides``), and the reading side of the merge audit (``entity_merges``, the stored
resolution) that ``lexprep entities merges|split|merge`` works from.

:class:`OverrideRepository` works through its :class:`lexprep.store.repository.Store` (sessions, the
SQLite write lock, the Postgres matter lock); ``store.overrides`` gives one. Errors as in
lexprep.store.repository: a lost connection is a TransientError, bad input a ValueError.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, insert, select

from lexprep.models import Entity, MergeRecord
from lexprep.resolve.overrides import Override
from lexprep.store import schema as t

KINDS = ("split", "merge")


class OverrideRow(NamedTuple):
    """A stored override (see schema.EntityOverrideRow)."""

    id: str
    seq: int
    kind: str
    entity_id: str
    other_entity_id: str | None
    alias: str | None
    mention_id: str | None
    label: str | None
    note: str | None
    author: str | None
    created_at: datetime

    def to_override(self) -> Override:
        return Override(self.id, self.kind, self.entity_id, self.other_entity_id, self.alias, self.mention_id,
                        self.note)

    def to_dict(self) -> dict[str, Any]:
        d = self._asdict()
        d["created_at"] = self.created_at.isoformat()
        return d


class MergeRow(NamedTuple):
    """One row of the merge audit: ``alias`` joined entity ``entity_id`` (``canonical``) by ``method``."""

    entity_id: str
    label: str
    alias: str
    canonical: str
    method: str
    score: float
    evidence: str | None

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class OverrideRepository:
    """A matter's overrides and its merge audit."""

    def __init__(self, store: Any):
        self.store = store

    def add(self, matter_id: str, kind: str, entity_id: str, *, other_entity_id: str | None = None,
            alias: str | None = None, mention_id: str | None = None, label: str | None = None,
            note: str | None = None, author: str | None = None) -> OverrideRow:
        """Store one override after the matter's others (``seq`` = the next number). Returns the row.

        Raises:
            ValueError: an unknown kind, a merge without ``other_entity_id``, a split with neither or
                both of ``alias`` and ``mention_id``.
        """
        if kind not in KINDS:
            raise ValueError(f"override kind must be one of {KINDS}, not {kind!r}")
        if kind == "merge" and not other_entity_id:
            raise ValueError("a merge override needs the other entity's id")
        if kind == "split" and (alias is None) == (mention_id is None):
            raise ValueError("a split override needs an alias or a mention id (one of them)")
        o = t.entity_overrides.c
        row = {"id": uuid.uuid4().hex, "matter_id": matter_id, "kind": kind, "entity_id": entity_id,
               "other_entity_id": other_entity_id, "alias": alias, "mention_id": mention_id, "label": label,
               "note": note, "author": author, "created_at": t.utcnow()}
        with self.store._write() as s:
            self.store._lock_matter(s, matter_id)
            row["seq"] = s.execute(select(func.coalesce(func.max(o.seq), 0)).where(o.matter_id == matter_id)).scalar_one() + 1
            s.execute(insert(t.entity_overrides).values(**row))
        return OverrideRow(**{k: row[k] for k in OverrideRow._fields})

    def list(self, matter_id: str) -> list[OverrideRow]:
        """The matter's overrides in the order they were made."""
        o = t.entity_overrides.c
        with self.store._read() as s:
            rows = s.execute(select(*[getattr(o, f) for f in OverrideRow._fields])
                             .where(o.matter_id == matter_id).order_by(o.seq, o.id))
            return [OverrideRow(*r) for r in rows]

    def overrides(self, matter_id: str) -> list[Override]:
        """The matter's overrides as the resolver takes them (lexprep.resolve.overrides.Override)."""
        return [r.to_override() for r in self.list(matter_id)]

    def merges(self, matter_id: str, entity_id: str | None = None) -> list[MergeRow]:
        """The merge audit of the matter (or of one entity), in the resolver's order."""
        m = t.entity_merges.c
        query = select(m.entity_id, m.label, m.alias, m.canonical, m.method, m.score, m.evidence).where(
            m.matter_id == matter_id)
        if entity_id is not None:
            query = query.where(m.entity_id == entity_id)
        with self.store._read() as s:
            return [MergeRow(*r) for r in s.execute(query.order_by(m.seq, m.id))]

    def entity(self, matter_id: str, entity_id: str) -> Entity | None:
        """One stored entity of the matter, or None."""
        e = t.entities.c
        with self.store._read() as s:
            r = s.execute(select(e.id, e.label, e.name, e.aliases, e.mention_count, e.document_id)
                          .where(e.matter_id == matter_id, e.id == entity_id)).first()
        return None if r is None else Entity(r[0], r[1], r[2], list(r[3] or []), r[4], r[5])

    def stored_resolution(self, matter_id: str):
        """The matter's stored resolution (lexprep.resolve.Resolution: entities, mention assignments,
        merge records), to edit in place without resolving again."""
        from lexprep.resolve import Resolution

        e, m, g = t.entities.c, t.mentions.c, t.entity_merges.c
        with self.store._read() as s:
            entities = [Entity(r[0], r[1], r[2], list(r[3] or []), r[4], r[5]) for r in s.execute(
                select(e.id, e.label, e.name, e.aliases, e.mention_count, e.document_id)
                .where(e.matter_id == matter_id).order_by(e.label, e.name, e.id))]
            assignments = dict(s.execute(select(m.id, m.entity_id).where(
                m.matter_id == matter_id, m.entity_id.is_not(None))).all())
            merges = [MergeRecord(*r) for r in s.execute(
                select(g.entity_id, g.label, g.alias, g.canonical, g.method, g.score, g.evidence)
                .where(g.matter_id == matter_id).order_by(g.seq, g.id))]
        return Resolution(entities, dict(sorted(assignments.items())), merges)

    def find_mentions(self, matter_id: str, entity_id: str) -> list[tuple[str, str, str, int, int]]:
        """The mentions of an entity: ``(mention id, text, document id, doc_start, doc_end)`` in reading order."""
        m = t.mentions.c
        with self.store._read() as s:
            return [tuple(r) for r in s.execute(
                select(m.id, m.text, m.document_id, m.doc_start, m.doc_end)
                .where(m.matter_id == matter_id, m.entity_id == entity_id)
                .order_by(m.document_id, m.doc_start, m.id))]  # type: ignore[misc]
