"""NER on the shared corpus (a Supreme Court slip opinion) and citation recall on eyecite's own tests."""

from __future__ import annotations

import collections
import json

import pytest

from lexprep.ner import document_mentions
from lexprep.ner.citations import find_citations
from lexprep.settings import NerSettings

pytestmark = [pytest.mark.integration, pytest.mark.shared]


@pytest.fixture(scope="module")
def opinion_mentions(shared_dir):
    pdfium = pytest.importorskip("pypdfium2")
    pdf = pdfium.PdfDocument(str(shared_dir / "corpus" / "court" / "vector-pdf.pdf"))
    text = "\n".join(page.get_textpage().get_text_range() for page in pdf)
    return document_mentions(text, NerSettings(workers=0), "opinion")


def test_opinion_entities(opinion_mentions):
    by_label = collections.defaultdict(set)
    for m in opinion_mentions:
        by_label[m.label].add(m.normalized or " ".join(m.text.split()))
    assert {"200 U.S. 321", "482 U.S. 124", "540 U.S. 56", "460 U.S. 605"} <= by_label["CASE"]
    assert {"94 Stat. 3305", "69 Stat. 654"} <= by_label["LAW"]
    assert any("§5.05(b)(1)" in law for law in by_label["LAW"])
    assert "SUPREME COURT OF THE UNITED STATES" in by_label["COURT"]
    assert any("TENTH CIRCUIT" in c.upper() for c in by_label["COURT"])
    assert "11-889" in by_label["DOCKET"]
    docket = next(m for m in opinion_mentions if m.label == "DOCKET" and m.normalized == "11-889")
    assert docket.text == "No. 11–889"
    assert by_label["PERSON"] and by_label["ORG"]
    assert any("tarrant regional water district" in o.casefold() for o in by_label["ORG"])
    tarrant = [m for m in opinion_mentions if m.text == "Tarrant"]
    assert tarrant and all(m.label == "ORG" and m.link_method == "defined_term" for m in tarrant)


def _found(expected, got):
    pool = collections.Counter(got)
    n = 0
    for e in expected:
        key = e["corrected_citation"]
        if pool[key] > 0:
            pool[key] -= 1
            n += 1
    return n


FULL = ("FullCaseCitation", "FullLawCitation", "FullJournalCitation")


def test_full_citation_recall_not_below_eyecite(shared_dir):
    """Every full citation eyecite finds on the raw text is a mention of ours (a parallel citation as an
    alias of its case), pair by pair; short forms are links to these and are checked in the unit tests."""
    from eyecite import get_citations

    pairs = json.loads((shared_dir / "eval" / "citations" / "eyecite_find_pairs.derived.json").read_text())
    assert len(pairs) == 203
    total = ours = eyecite_raw = 0
    for pair in pairs:
        expected = [e for e in pair["expected_citations"] if e["type"] in FULL]
        total += len(expected)
        raw = [c.corrected_citation() for c in get_citations(pair["text"]) if type(c).__name__ in FULL]
        mine = []
        for c in find_citations(pair["text"]):
            if c.kind in FULL and c.normalized:
                mine.append(c.normalized)
                mine.extend(c.attrs.get("parallel", []))
        n_raw, n_mine = _found(expected, raw), _found(expected, mine)
        assert n_mine >= n_raw, pair["text"][:200]
        ours += n_mine
        eyecite_raw += n_raw
    print(f"full citations expected {total}: ours {ours}, eyecite on raw text {eyecite_raw}")
    assert ours >= eyecite_raw >= 120
