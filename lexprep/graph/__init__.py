"""The matter's relationship graph from documents, chunks and resolved mentions.

Edges (lexprep.models.Relationship; node kinds ``document``, ``chunk``, ``entity``):

- ``CONTAINS`` document -> chunk, weight 1, one per chunk.
- ``MENTIONS`` chunk -> entity, weight = mentions of the entity in the chunk, evidence = the chunk.
- ``CO_OCCURS`` entity -> entity for two entities mentioned in the same chunk, both with labels in
  ``settings.cooccurrence_labels``; one edge per unordered pair with ``source_id < target_id``,
  weight = number of chunks they share, evidence = the first such chunk in the order of ``chunks``.
- ``CITES`` document -> entity for CASE and LAW entities mentioned in the document (LAW too: a
  statute a brief relies on is as much a cited authority as a case), weight = mentions in the
  document, evidence = the first chunk (in ``chunks`` order) that mentions it.
- ``HAS_ATTACHMENT`` document -> document for every document with a ``parent_id`` (weight 1).

"First chunk" means first in the order of the ``chunks`` argument (callers pass chunks in document
order, so it is the earliest evidence in the document); the result depends on that order and on
nothing else. The edge list is sorted by (type, source_id, target_id).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations

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
    """A chunk and the document it belongs to."""

    id: str
    document_id: str


@dataclass(frozen=True, slots=True)
class MentionLink:
    """One mention, reduced to where it is (chunk) and what it resolved to (entity)."""

    chunk_id: str
    entity_id: str


def build_relationships(
    documents: list[DocRef],
    chunks: list[ChunkRef],
    mentions: list[MentionLink],
    entity_labels: dict[str, str],
    settings,
) -> list[Relationship]:
    """All edges of the graph (see the module docstring).

    Args:
        documents: the matter's documents.
        chunks: their chunks, in document order (this order picks the evidence chunks).
        mentions: one link per mention (a chunk mentioning an entity three times gives three).
        entity_labels: entity id -> label, for every entity the mentions point to.
        settings: GraphSettings (``cooccurrence_labels``).

    Returns:
        Relationships sorted by (type, source_id, target_id).

    Raises:
        ValueError: a mention names a chunk not in ``chunks`` or an entity not in ``entity_labels``.
    """
    co_labels = set(settings.cooccurrence_labels)
    chunk_pos: dict[str, int] = {}
    chunk_doc: dict[str, str] = {}
    edges: list[Relationship] = []
    for c in chunks:
        if c.id in chunk_pos:
            continue
        chunk_pos[c.id] = len(chunk_pos)
        chunk_doc[c.id] = c.document_id
        edges.append(Relationship("document", c.document_id, "chunk", c.id, "CONTAINS", 1.0))

    per_chunk: dict[str, Counter] = defaultdict(Counter)
    for m in mentions:
        if m.chunk_id not in chunk_pos:
            raise ValueError(f"mention of unknown chunk {m.chunk_id!r}")
        if m.entity_id not in entity_labels:
            raise ValueError(f"mention of unknown entity {m.entity_id!r}")
        per_chunk[m.chunk_id][m.entity_id] += 1

    pair_weight: Counter = Counter()
    pair_evidence: dict[tuple[str, str], str] = {}
    cites_weight: Counter = Counter()
    cites_evidence: dict[tuple[str, str], str] = {}
    for chunk_id in sorted(per_chunk, key=chunk_pos.__getitem__):  # chunks in input order
        counts = per_chunk[chunk_id]
        doc_id = chunk_doc[chunk_id]
        for entity_id in sorted(counts):
            n = counts[entity_id]
            edges.append(
                Relationship("chunk", chunk_id, "entity", entity_id, "MENTIONS", float(n), chunk_id)
            )
            if entity_labels[entity_id] in CITED_LABELS:
                key = (doc_id, entity_id)
                cites_weight[key] += n
                cites_evidence.setdefault(key, chunk_id)
        linked = sorted(e for e in counts if entity_labels[e] in co_labels)
        for pair in combinations(linked, 2):  # sorted input: pair[0] < pair[1]
            pair_weight[pair] += 1
            pair_evidence.setdefault(pair, chunk_id)

    edges.extend(
        Relationship("entity", a, "entity", b, "CO_OCCURS", float(w), pair_evidence[(a, b)])
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
