"""The matter's relationship graph from documents, chunks and resolved mentions.

Edges (lexprep.models.Relationship; node kinds ``document``, ``chunk``, ``entity``):

- ``CONTAINS`` document -> chunk, weight 1, one per chunk.
- ``MENTIONS`` chunk -> entity, weight = mentions of the entity whose span lies in the chunk (a
  mention in the overlap of two chunks counts for both: each chunk names the entity), evidence = the chunk.
- ``CO_OCCURS`` entity -> entity for two matter-wide entities with labels in
  ``settings.cooccurrence_labels`` mentioned within ``settings.cooccurrence_window_chars`` of each other
  in one document (bounded: each mention pairs only with the next ``settings.cooccurrence_max_neighbours``
  mentions of other entities inside that window, never every pair of a chunk); one edge per unordered pair with ``source_id < target_id``, weight = the number of such
  mention pairs, evidence = the chunk holding the first. Document-scoped entities (a bare role or
  court word resolved only inside its document) get none. ``settings.cooccurrence=False`` turns them off.
- ``CITES`` document -> entity for CASE and LAW entities mentioned in the document, weight = mentions
  in the document, evidence = the first chunk holding one.
- ``HAS_ATTACHMENT`` document -> document for every document with a ``parent_id`` (weight 1).

The typed edges built from facts (PARTY_TO, SENT, RECEIVED, REPLY_TO, REPRESENTS, JUDGE_OF, FILED_IN,
GOVERNED_BY) are added by lexprep.pipeline.graph_matter (lexprep.facts.edges).

The edge list is sorted by (type, source_id, target_id).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from lexprep.models import Relationship

__all__ = ["DocRef", "ChunkRef", "MentionLink", "CITED_LABELS", "build_relationships"]

#: entity labels that get document CITES edges
CITED_LABELS = frozenset({"CASE", "LAW"})
_TYPE_ORDER = {"CONTAINS": 0, "MENTIONS": 1, "CO_OCCURS": 2, "CITES": 3, "HAS_ATTACHMENT": 4}


@dataclass(frozen=True, slots=True)
class DocRef:
    """A document: its id and, for an attachment, the containing document's id."""

    id: str
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChunkRef:
    """A chunk: its document and its span in the document's cleaned text."""

    id: str
    document_id: str
    char_start: int = 0
    char_end: int = 0


@dataclass(frozen=True, slots=True)
class MentionLink:
    """One mention, reduced to where it is (document span) and what it resolved to (entity)."""

    document_id: str
    start: int
    end: int
    entity_id: str


def build_relationships(
    documents: list[DocRef],
    chunks: list[ChunkRef],
    mentions: list[MentionLink],
    entity_labels: dict[str, str],
    settings,
    scoped_entities: set[str] | frozenset[str] = frozenset(),
) -> list[Relationship]:
    """All edges of the graph (see the module docstring).

    Args:
        documents: the matter's documents.
        chunks: their chunks, in document and chunk order.
        mentions: one link per mention.
        entity_labels: entity id -> label, for every entity the mentions point to.
        settings: GraphSettings (``cooccurrence``, ``cooccurrence_labels``, ``cooccurrence_window_chars``,
            ``cooccurrence_max_neighbours``: 0 = every later mention in the window).
        scoped_entities: ids of document-scoped entities (no CO_OCCURS edges).

    Returns:
        Relationships sorted by (type, source_id, target_id).

    Raises:
        ValueError: a mention names an entity not in ``entity_labels``.
    """
    from bisect import bisect_right

    co_labels = set(settings.cooccurrence_labels) if getattr(settings, "cooccurrence", True) else set()
    window = int(getattr(settings, "cooccurrence_window_chars", 300))
    neighbours = int(getattr(settings, "cooccurrence_max_neighbours", 0) or 0)
    edges: list[Relationship] = []
    doc_chunks: dict[str, list[ChunkRef]] = defaultdict(list)
    seen_chunks: set[str] = set()
    for c in chunks:
        if c.id in seen_chunks:
            continue
        seen_chunks.add(c.id)
        doc_chunks[c.document_id].append(c)
        edges.append(Relationship("document", c.document_id, "chunk", c.id, "CONTAINS", 1.0))

    per_chunk: dict[str, Counter] = defaultdict(Counter)
    pair_weight: Counter = Counter()
    pair_evidence: dict[tuple[str, str], str] = {}
    cites_weight: Counter = Counter()
    cites_evidence: dict[tuple[str, str], str] = {}
    by_doc: dict[str, list[MentionLink]] = defaultdict(list)
    for m in mentions:
        if m.entity_id not in entity_labels:
            raise ValueError(f"mention of unknown entity {m.entity_id!r}")
        by_doc[m.document_id].append(m)
    for doc_id in sorted(by_doc):
        cs = doc_chunks.get(doc_id, [])
        starts = [c.char_start for c in cs]
        ms = sorted(by_doc[doc_id], key=lambda x: (x.start, x.end, x.entity_id))
        home: list[str | None] = []
        for m in ms:
            i = bisect_right(starts, m.start) - 1
            holders = []
            j = i
            while j >= 0 and cs[j].char_end > m.start:
                if cs[j].char_start <= m.start and m.end <= cs[j].char_end:
                    holders.append(cs[j].id)
                j -= 1
            if not holders and i >= 0:
                holders = [cs[i].id]
            holders.reverse()
            home.append(holders[0] if holders else None)
            for cid in holders:
                per_chunk[cid][m.entity_id] += 1
            if entity_labels[m.entity_id] in CITED_LABELS and holders:
                key = (doc_id, m.entity_id)
                cites_weight[key] += 1
                cites_evidence.setdefault(key, holders[0])
        if not co_labels:
            continue
        linkable = [(k, m) for k, m in enumerate(ms) if entity_labels[m.entity_id] in co_labels
                    and m.entity_id not in scoped_entities]
        for a in range(len(linkable)):
            ka, ma = linkable[a]
            paired = 0
            for b in range(a + 1, len(linkable)):
                kb, mb = linkable[b]
                if mb.start - ma.start > window or (neighbours and paired >= neighbours):
                    break
                if ma.entity_id == mb.entity_id:
                    continue
                paired += 1
                pair = (ma.entity_id, mb.entity_id) if ma.entity_id < mb.entity_id else (mb.entity_id, ma.entity_id)
                pair_weight[pair] += 1
                if home[ka] is not None:
                    pair_evidence.setdefault(pair, home[ka])

    for chunk_id in sorted(per_chunk):
        for entity_id, n in sorted(per_chunk[chunk_id].items()):
            edges.append(Relationship("chunk", chunk_id, "entity", entity_id, "MENTIONS", float(n), chunk_id))
    edges.extend(
        Relationship("entity", a, "entity", b, "CO_OCCURS", float(w), pair_evidence.get((a, b)))
        for (a, b), w in pair_weight.items()
    )
    edges.extend(
        Relationship("document", d, "entity", e, "CITES", float(w), cites_evidence[(d, e)])
        for (d, e), w in cites_weight.items()
    )
    edges.extend(
        Relationship("document", parent, "document", child, "HAS_ATTACHMENT", 1.0)
        for child, parent in {(d.id, d.parent_id) for d in documents if d.parent_id}
    )
    edges.sort(key=lambda r: (_TYPE_ORDER[r.type], r.source_id, r.target_id))
    return edges
