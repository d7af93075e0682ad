"""The relationship graph: CONTAINS, MENTIONS (by span containment), bounded CO_OCCURS, CITES, HAS_ATTACHMENT."""

from __future__ import annotations

import pytest

from lexprep.graph import ChunkRef, DocRef, MentionLink, build_relationships
from lexprep.settings import GraphSettings

pytestmark = pytest.mark.unit

LABELS = {"p1": "PERSON", "o1": "ORG", "c1": "CASE", "l1": "LAW", "d1": "DATE", "s1": "PERSON"}
DOCS = [DocRef("D"), DocRef("E", parent_id="D")]
# document D: chunk k1 = [0, 1000), k2 = [900, 2000) (overlap 900..1000); document E: k3 = [0, 500)
CHUNKS = [ChunkRef("k1", "D", 0, 1000), ChunkRef("k2", "D", 900, 2000), ChunkRef("k3", "E", 0, 500)]
MENTIONS = [
    MentionLink("D", 10, 20, "p1"), MentionLink("D", 100, 110, "o1"), MentionLink("D", 150, 170, "c1"),
    MentionLink("D", 950, 960, "p1"),  # in the overlap: both chunks mention p1
    MentionLink("D", 1500, 1510, "c1"), MentionLink("D", 1600, 1610, "d1"), MentionLink("D", 1620, 1630, "s1"),
    MentionLink("E", 5, 15, "l1"), MentionLink("E", 40, 50, "p1"),
]


def _edges(rels, type_):
    return [(r.source_id, r.target_id, r.weight, r.evidence_chunk_id) for r in rels if r.type == type_]


@pytest.fixture()
def rels():
    return build_relationships(DOCS, CHUNKS, MENTIONS, LABELS, GraphSettings(cooccurrence_window_chars=300),
                               scoped_entities={"s1"})


def test_contains(rels):
    assert _edges(rels, "CONTAINS") == [("D", "k1", 1.0, None), ("D", "k2", 1.0, None), ("E", "k3", 1.0, None)]


def test_mentions_list_every_chunk_holding_the_span(rels):
    m = {(s, t): w for s, t, w, _ in _edges(rels, "MENTIONS")}
    assert m[("k1", "p1")] == 2.0  # at 10 and at 950
    assert m[("k2", "p1")] == 1.0  # the overlap mention, once more for the chunk that also holds it
    assert m[("k1", "c1")] == 1.0 and m[("k2", "c1")] == 1.0
    assert m[("k3", "l1")] == 1.0 and m[("k3", "p1")] == 1.0


def test_cooccurs_is_bounded_by_the_window_and_skips_scoped_entities(rels):
    pairs = {(s, t): (w, ev) for s, t, w, ev in _edges(rels, "CO_OCCURS")}
    assert all(s < t for s, t in pairs)
    assert pairs[("o1", "p1")] == (1.0, "k1")  # 10 and 100 are within 300 characters
    assert pairs[("c1", "p1")] == (1.0, "k1")
    assert pairs[("c1", "o1")] == (1.0, "k1")
    assert ("l1", "p1") in pairs  # in E
    assert not any("d1" in p for p in pairs)  # DATE is not a co-occurrence label
    assert not any("s1" in p for p in pairs)  # document-scoped entities get none
    # p1 at 950 and c1 at 1500 are 550 apart: no extra weight from them
    assert pairs[("c1", "p1")][0] == 1.0


def test_cooccurrence_can_be_turned_off():
    rels = build_relationships(DOCS, CHUNKS, MENTIONS, LABELS, GraphSettings(cooccurrence=False))
    assert not _edges(rels, "CO_OCCURS") and _edges(rels, "MENTIONS")


def test_cites_case_and_law(rels):
    assert _edges(rels, "CITES") == [("D", "c1", 2.0, "k1"), ("E", "l1", 1.0, "k3")]


def test_has_attachment(rels):
    assert _edges(rels, "HAS_ATTACHMENT") == [("D", "E", 1.0, None)]


def test_deterministic_order():
    a = build_relationships(DOCS, CHUNKS, MENTIONS, LABELS, GraphSettings())
    b = build_relationships(DOCS[::-1], CHUNKS, MENTIONS[::-1], LABELS, GraphSettings())
    assert a == b
    types = [r.type for r in a]
    assert types == sorted(types, key=["CONTAINS", "MENTIONS", "CO_OCCURS", "CITES", "HAS_ATTACHMENT"].index)


def test_unknown_entity_raises():
    with pytest.raises(ValueError):
        build_relationships(DOCS, CHUNKS, [MentionLink("D", 0, 5, "nope")], LABELS, GraphSettings())


def test_empty():
    assert build_relationships([], [], [], {}, GraphSettings()) == []
