"""The merge audit and its undo: overrides replayed by resolve, stored on SQLite and Postgres, applied at once
by ``lexprep entities split|merge`` (export and graph included) and respected by every later resolution.

Tests taking ``store_url`` run on a SQLite file and on a fresh PostgreSQL database (tests/conftest.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lexprep import pipeline
from lexprep.models import (
    CategoryResult,
    Chunk,
    CleanText,
    DocStatus,
    DocumentResult,
    ExtractedDocument,
    Mention,
    Page,
    PageSpan,
    SourceFile,
    sha256_bytes,
    stable_id,
)
from lexprep.resolve import MentionRef, resolve
from lexprep.resolve.overrides import Override, apply_overrides
from lexprep.settings import ResolveSettings, Settings
from lexprep.store import Store

pytestmark = pytest.mark.unit

S = ResolveSettings()
MATTER = "Smith v. Acme"


def _m(id_, label, text, doc="A", link=None, method=None):
    return MentionRef(id_, label, text, None, doc, link, method, None, None)


def _by_mention(res, mid):
    eid = res.assignments[mid]
    return next(e for e in res.entities if e.id == eid)


# ---------------------------------------------------------------------------- the resolver replays overrides


REFS = [
    _m("a1", "PERSON", "John Smith"), _m("a2", "PERSON", "John Smith"),
    _m("b1", "PERSON", "Jon Smith", "B"), _m("b2", "PERSON", "Smith", "B", link="b1", method="surname"),
    _m("c1", "ORG", "Acme Corp", "C"), _m("c2", "ORG", "Acme Holdings Group", "C"),
]


def test_split_undoes_a_fuzzy_merge_and_the_links_follow():
    plain = resolve(REFS, S, "m")
    smith = _by_mention(plain, "a1")
    assert _by_mention(plain, "b1").id == smith.id == _by_mention(plain, "b2").id  # fuzzy + surname link
    assert {(r.alias, r.method) for r in plain.merges if r.entity_id == smith.id} == {("Jon Smith", "fuzzy"),
                                                                                       ("Smith", "surname")}
    split = Override("o1", "split", smith.id, alias="jon  SMITH")  # compared by the normalised key
    res = resolve(REFS, S, "m", overrides=[split])
    john, jon = _by_mention(res, "a1"), _by_mention(res, "b1")
    assert john.id == smith.id and john.name == "John Smith" and john.mention_count == 2 and john.aliases == []
    assert jon.id == stable_id("m", "PERSON", "split", smith.id, "jon smith")
    assert jon.name == "Jon Smith" and jon.mention_count == 2 and jon.aliases == ["Smith"]
    assert _by_mention(res, "b2").id == jon.id  # the surname that stood for Jon Smith went with him
    assert [o.applied for o in res.overrides] == [True]
    assert not [r for r in res.merges if r.entity_id == john.id]
    assert [(r.alias, r.canonical, r.method) for r in res.merges if r.entity_id == jon.id] == [
        ("Smith", "Jon Smith", "surname")]
    # replayed on a later resolution: same ids, in any input order
    again = resolve(list(reversed(REFS)), S, "m", overrides=[split])
    assert again.entities == res.entities and again.assignments == res.assignments and again.merges == res.merges


def test_split_by_mention_and_forced_merge_in_order():
    plain = resolve(REFS, S, "m")
    acme, holdings = _by_mention(plain, "c1"), _by_mention(plain, "c2")
    smith = _by_mention(plain, "a1")
    overrides = [Override("o1", "split", smith.id, mention_id="b1"),
                 Override("o2", "merge", acme.id, other_entity_id=holdings.id, note="same company (10-K)")]
    res = resolve(REFS, S, "m", overrides=overrides)
    assert _by_mention(res, "b1").id == _by_mention(res, "b2").id != smith.id
    joined = _by_mention(res, "c2")
    assert joined.id == acme.id and joined.name == "Acme Corp" and joined.mention_count == 2
    assert joined.aliases == ["Acme Holdings Group"]
    rec = next(r for r in res.merges if r.entity_id == acme.id)
    assert (rec.alias, rec.method, rec.score) == ("Acme Holdings Group", "manual", 100.0)
    assert "override o2" in rec.evidence and "10-K" in rec.evidence
    assert holdings.id not in {e.id for e in res.entities}
    # a merge after the split brings it back: overrides replay in the order they were made
    back = resolve(REFS, S, "m", overrides=[*overrides, Override("o3", "merge", smith.id,
                                                               other_entity_id=_by_mention(res, "b1").id)])
    assert _by_mention(back, "b1").id == smith.id and _by_mention(back, "b2").id == smith.id


def test_split_reads_the_alias_as_written_before_its_key():
    refs = [_m("x1", "ORG", "Acme Corp"), _m("x2", "ORG", "Acme Corp", "B"), _m("x3", "ORG", "ACME CORP.", "C")]
    plain = resolve(refs, S, "m")
    (acme,) = plain.entities  # the same normalised name
    res = resolve(refs, S, "m", overrides=[Override("o", "split", acme.id, alias="ACME CORP.")])
    assert _by_mention(res, "x1").id == _by_mention(res, "x2").id == acme.id
    caps = _by_mention(res, "x3")
    assert caps.id == stable_id("m", "ORG", "split", acme.id, "surface:ACME CORP.") and caps.mention_count == 1
    # regardless of case when nothing is written that way; by the key when no surface matches
    res = resolve(refs, S, "m", overrides=[Override("o", "split", acme.id, alias="acme corp.")])
    assert _by_mention(res, "x3").id != acme.id and _by_mention(res, "x1").id == acme.id
    res, (outcome,) = apply_overrides(plain, refs, [Override("o", "split", acme.id, alias="Acme Corporation")], "m")
    assert not outcome.applied and "nothing to split from" in outcome.detail


def test_overrides_that_no_longer_fit_are_skipped_with_a_reason():
    plain = resolve(REFS, S, "m")
    smith, acme = _by_mention(plain, "a1"), _by_mention(plain, "c1")
    overrides = [Override("gone", "split", "0" * 32, alias="x"),
                 Override("noalias", "split", smith.id, alias="Somebody Else"),
                 Override("labels", "merge", smith.id, other_entity_id=acme.id),
                 Override("whole", "split", acme.id, alias="Acme Corp")]
    res, outcomes = apply_overrides(plain, REFS, overrides, "m")
    assert [o.applied for o in outcomes] == [False] * 4
    assert "not in the matter" in outcomes[0].detail and "reads 'Somebody Else'" in outcomes[1].detail
    assert "labels differ" in outcomes[2].detail and "nothing to split from" in outcomes[3].detail
    assert res.entities == plain.entities and res.assignments == plain.assignments and res.merges == plain.merges


# ---------------------------------------------------------------------------- store, pipeline, CLI


def _source(name: str, content: bytes) -> SourceFile:
    return SourceFile(uri=f"/matter/{name}", file_name=name, sha256=sha256_bytes(content), size=len(content),
                      kind="pdf", mime="application/pdf")


def _doc(text: str, spans: list[tuple[str, str, tuple[int, int] | None, str | None]]) -> DocumentResult:
    """A one-chunk document whose mentions are ``(label, surface, link span, link method)`` found in order."""
    mentions, pos = [], 0
    for label, surface, link, method in spans:
        start = text.index(surface, pos)
        pos = start + len(surface)
        mentions.append(Mention(0, label, surface, start, pos, start, pos, 0.9, "spacy", label, None, link, method))
    return DocumentResult(
        source=_source("x", text.encode()), status=DocStatus.done,
        extracted=ExtractedDocument(kind="pdf", pages=[Page(number=1, method="text_layer", text=text)],
                                    meta={"page_count": 1}),
        clean=CleanText(text=text, page_spans=[PageSpan(number=1, char_start=0, char_end=len(text))]),
        category=CategoryResult(category="pleading", reason="test"),
        chunks=[Chunk(chunk_index=0, text=text, char_start=0, char_end=len(text), page_start=1, page_end=1,
                      token_count=len(text.split()))],
        mentions=mentions,
    )


DOC_A = "John Smith sued Acme Corp in Boston. John Smith asked for damages."
DOC_B = "Jon Smith works at Acme Holdings Group. Smith signed the lease with Acme Holdings Group."


def _fill(store: Store) -> str:
    matter_id = store.ensure_matter(MATTER)
    for name, text, spans in (
        ("a.pdf", DOC_A, [("PERSON", "John Smith", None, None), ("ORG", "Acme Corp", None, None),
                          ("GPE", "Boston", None, None), ("PERSON", "John Smith", None, None)]),
        ("b.pdf", DOC_B, [("PERSON", "Jon Smith", None, None), ("ORG", "Acme Holdings Group", None, None),
                          ("PERSON", "Smith", (0, 9), "surname"), ("ORG", "Acme Holdings Group", None, None)]),
    ):
        src = _source(name, text.encode())
        result = _doc(text, spans)
        result.source = src
        doc_id = store.register_document(matter_id, MATTER, src, None)
        store.save_document(doc_id, result, "1", "fp")
    return matter_id


@pytest.fixture
def filled(store_url: str, tmp_path: Path, monkeypatch):
    """A resolved two-document matter on ``store_url``; the CLI's default database points at it."""
    monkeypatch.setenv("LEXPREP_DB_URL", store_url)
    monkeypatch.setenv("LEXPREP_PROFILE", "local")
    store = Store.open(store_url)
    matter_id = _fill(store)
    settings = Settings(db_url=store_url)
    pipeline.resolve_matter(store, matter_id, MATTER, settings)
    pipeline.graph_matter(store, matter_id, settings)
    yield store, matter_id, settings, tmp_path
    store.close()


def _cli(*args: str) -> tuple[int, str]:
    from lexprep.cli import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _entity_named(store: Store, matter_id: str, name: str):
    current = store.overrides.stored_resolution(matter_id)
    return next(e for e in current.entities if e.name == name)


def _exported(tmp_path: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "out" / name).read_text().splitlines()]


def test_merges_audit_split_and_merge_through_the_cli(filled):
    store, matter_id, settings, tmp_path = filled
    smith = _entity_named(store, matter_id, "John Smith")
    assert sorted(smith.aliases) == ["Jon Smith", "Smith"]

    code, out = _cli("entities", "merges", "--matter", MATTER, "--json")
    assert code == 0, out
    audit = json.loads(out)
    assert {(r["alias"], r["method"]) for r in audit["merges"] if r["entity_id"] == smith.id} == {
        ("Jon Smith", "fuzzy"), ("Smith", "surname")}
    fuzzy = next(r for r in audit["merges"] if r["method"] == "fuzzy")
    assert 90 <= fuzzy["score"] < 100 and "token_sort_ratio" in fuzzy["evidence"] and audit["overrides"] == []
    code, out = _cli("entities", "merges", "--matter", MATTER, "--entity", smith.id)
    assert code == 0 and "Jon Smith" in out and "fuzzy" in out and "2 merge(s)" in out

    # undo the fuzzy merge: Jon Smith (and the "Smith" that stands for him) leave John Smith
    code, out = _cli("entities", "split", smith.id, "--matter", MATTER, "--alias", "Jon Smith",
                     "--note", "different people")
    assert code == 0, out
    jon_id = stable_id(MATTER, "PERSON", "split", smith.id, "jon smith")
    current = store.overrides.stored_resolution(matter_id)
    by_id = {e.id: e for e in current.entities}
    assert by_id[smith.id].aliases == [] and by_id[smith.id].mention_count == 2
    assert by_id[jon_id].name == "Jon Smith" and by_id[jon_id].aliases == ["Smith"]
    # the export and the graph reflect it at once
    assert _cli("export", "--matter", MATTER, "--out", str(tmp_path / "out"))[0] == 0
    exported = {e["id"]: e for e in _exported(tmp_path, "entities.jsonl")}
    assert exported[jon_id]["mention_count"] == 2 and exported[smith.id]["aliases"] == []
    mentions = _exported(tmp_path, "mentions.jsonl")
    assert {m["entity_id"] for m in mentions if m["text"] in ("Jon Smith", "Smith")} == {jon_id}
    edges = _exported(tmp_path, "relationships.jsonl")
    assert any(r["target"] == jon_id and r["type"] == "MENTIONS" for r in edges)
    assert not any(smith.id in (r["source"], r["target"]) and jon_id in (r["source"], r["target"])
               and r["type"] == "CO_OCCURS" for r in edges)  # apart in different documents

    # force a merge the rules did not make
    acme = _entity_named(store, matter_id, "Acme Corp")
    holdings = _entity_named(store, matter_id, "Acme Holdings Group")
    code, out = _cli("entities", "merge", acme.id, holdings.id, "--matter", MATTER, "--note", "same company")
    assert code == 0, out
    joined = _entity_named(store, matter_id, "Acme Corp")
    assert joined.id == acme.id and joined.mention_count == 3 and joined.aliases == ["Acme Holdings Group"]

    rows = store.overrides.list(matter_id)
    assert [(r.seq, r.kind, r.entity_id, r.alias, r.other_entity_id, r.label) for r in rows] == [
        (1, "split", smith.id, "Jon Smith", None, "PERSON"), (2, "merge", acme.id, None, holdings.id, "ORG")]
    manual = [r for r in store.overrides.merges(matter_id, acme.id) if r.method == "manual"]
    assert len(manual) == 1 and rows[1].id in manual[0].evidence and "same company" in manual[0].evidence

    # every later resolution replays them: the same entities, merges and links as the CLI left
    before = store.overrides.stored_resolution(matter_id)
    counts = pipeline.resolve_matter(store, matter_id, MATTER, settings)
    assert counts["overrides_applied"] == 2 and counts["overrides_skipped"] == 0
    after = store.overrides.stored_resolution(matter_id)
    assert sorted(after.entities, key=lambda e: e.id) == sorted(before.entities, key=lambda e: e.id)
    assert after.assignments == before.assignments
    assert sorted(after.merges, key=lambda r: (r.entity_id, r.alias, r.method)) == \
        sorted(before.merges, key=lambda r: (r.entity_id, r.alias, r.method))

    code, out = _cli("entities", "show", jon_id, "--matter", MATTER, "--json")
    assert code == 0 and {m["text"] for m in json.loads(out)["mentions"]} == {"Jon Smith", "Smith"}


def test_a_split_or_merge_that_does_not_fit_stores_nothing(filled):
    store, matter_id, _settings, _tmp = filled
    smith = _entity_named(store, matter_id, "John Smith")
    boston = _entity_named(store, matter_id, "Boston")
    code, out = _cli("entities", "split", smith.id, "--matter", MATTER, "--alias", "Nobody")
    assert code == 1 and "no mention of 'John Smith'" in out
    code, out = _cli("entities", "merge", smith.id, boston.id, "--matter", MATTER)
    assert code == 1 and "labels differ" in out
    code, out = _cli("entities", "split", "f" * 32, "--matter", MATTER, "--alias", "x")
    assert code == 1 and "not in the matter" in out
    code, out = _cli("entities", "split", smith.id, "--matter", MATTER)
    assert code == 2 and "--alias" in out
    code, out = _cli("entities", "merges", "--matter", "no such matter")
    assert code == 2
    assert store.overrides.list(matter_id) == []


def test_overrides_are_kept_per_matter_and_deleted_with_it(store: Store):
    a, b = store.ensure_matter("A"), store.ensure_matter("B")
    first = store.overrides.add(a, "split", "e" * 32, alias="X")
    second = store.overrides.add(a, "merge", "e" * 32, other_entity_id="f" * 32, note="n")
    other = store.overrides.add(b, "split", "e" * 32, mention_id="m" * 32)
    assert (first.seq, second.seq, other.seq) == (1, 2, 1)
    assert [o.id for o in store.overrides.list(a)] == [first.id, second.id]
    assert store.overrides.overrides(b) == [Override(other.id, "split", "e" * 32, mention_id="m" * 32)]
    assert store.overrides.list(a)[0].created_at.tzinfo is not None
    with pytest.raises(ValueError):
        store.overrides.add(a, "merge", "e" * 32)
    with pytest.raises(ValueError):
        store.overrides.add(a, "split", "e" * 32, alias="x", mention_id="y")
    with pytest.raises(ValueError):
        store.overrides.add(a, "rename", "e" * 32)


@pytest.fixture
def store(store_url: str):
    s = Store.open(store_url)
    yield s
    s.close()
