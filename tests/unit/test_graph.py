"""The relationship graph: CONTAINS, MENTIONS, CO_OCCURS, CITES, HAS_ATTACHMENT."""

from __future__ import annotations

import pytest

from lexprep.graph import ChunkRef, DocRef, MentionLink, build_relationships
from lexprep.settings import GraphSettings

pytestmark = pytest.mark.unit

LABELS = {"p1": "PERSON", "o1": "ORG", "c1": "CASE", "l1": "LAW", "d1": "DATE"}
DOCS = [DocRef("D"), DocRef("E", parent_id="D")]
CHUNKS = [ChunkRef("k2", "D"), ChunkRef("k1", "D"), ChunkRef("k3", "E")]
MENTIONS = [
    MentionLink("k2", "p1"), MentionLink("k2", "p1"), MentionLink("k2", "o1"), MentionLink("k2", "c1"),
    MentionLink("k2", "d1"),
    MentionLink("k1", "p1"), MentionLink("k1", "o1"), MentionLink("k1", "c1"), MentionLink("k1", "c1"),
    MentionLink("k3", "l1"), MentionLink("k3", "p1"),
]


def _edges(rels, type_):
    return [(r.source_id, r.target_id, r.weight, r.evidence_chunk_id) for r in rels if r.type == type_]


@pytest.fixture()
def rels():
    return build_relationships(DOCS, CHUNKS, MENTIONS, LABELS, GraphSettings())


def test_contains(rels):
    assert _edges(rels, "CONTAINS") == [("D", "k1", 1.0, None), ("D", "k2", 1.0, None), ("E", "k3", 1.0, None)]
    assert all(r.source_kind == "document" and r.target_kind == "chunk" for r in rels if r.type == "CONTAINS")


def test_mentions_weight_is_count(rels):
    m = {(s, t): w for s, t, w, _ in _edges(rels, "MENTIONS")}
    assert m[("k2", "p1")] == 2.0 and m[("k1", "c1")] == 2.0 and m[("k2", "d1")] == 1.0
    assert len(m) == 9


def test_cooccurs_one_edge_per_pair_and_label_filter(rels):
    co = _edges(rels, "CO_OCCURS")
    pairs = {(s, t): (w, ev) for s, t, w, ev in co}
    assert all(s < t for s, t in pairs)
    # p1-o1 and p1-c1 and c1-o1 share k2 and k1; the first in chunk input order is k2
    assert pairs[("o1", "p1")] == (2.0, "k2")
    assert pairs[("c1", "p1")] == (2.0, "k2")
    assert pairs[("c1", "o1")] == (2.0, "k2")
    assert pairs[("l1", "p1")] == (1.0, "k3")
    assert not any("d1" in p for p in pairs)  # DATE is not a co-occurrence label


def test_cites_case_and_law(rels):
    assert _edges(rels, "CITES") == [("D", "c1", 3.0, "k2"), ("E", "l1", 1.0, "k3")]


def test_has_attachment(rels):
    assert _edges(rels, "HAS_ATTACHMENT") == [("D", "E", 1.0, None)]


def test_deterministic_order():
    a = build_relationships(DOCS, CHUNKS, MENTIONS, LABELS, GraphSettings())
    b = build_relationships(DOCS[::-1], CHUNKS, MENTIONS[::-1], LABELS, GraphSettings())
    assert a == b
    types = [r.type for r in a]
    assert types == sorted(types, key=["CONTAINS", "MENTIONS", "CO_OCCURS", "CITES", "HAS_ATTACHMENT"].index)


def test_unknown_references_raise():
    with pytest.raises(ValueError):
        build_relationships(DOCS, CHUNKS, [MentionLink("nope", "p1")], LABELS, GraphSettings())
    with pytest.raises(ValueError):
        build_relationships(DOCS, CHUNKS, [MentionLink("k1", "nope")], LABELS, GraphSettings())


def test_empty():
    assert build_relationships([], [], [], {}, GraphSettings()) == []
