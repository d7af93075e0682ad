"""Rules (COURT, DOCKET, statutes), merge precedence and eyecite citations (a library, not a model)."""

from __future__ import annotations

import pytest

from lexprep.ner.citations import MAYBE_CITATION, citation_spans, find_citations
from lexprep.ner.merge import Span, merge_spans
from lexprep.ner.pool import slices
from lexprep.ner.rules import court_spans, docket_spans, rule_spans, statute_spans

pytestmark = pytest.mark.unit


def _texts(text, spans, label=None):
    return [text[s.start : s.end] for s in spans if label is None or s.label == label]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("before the Supreme Court of the United States today", "Supreme Court of the United States"),
        ("United States Court of Appeals for the Ninth Circuit", "United States Court of Appeals for the Ninth Circuit"),
        ("the United States District Court for the District of Arizona held",
         "United States District Court for the District of Arizona"),
        ("U.S. District Court for the Northern District of California", "U.S. District Court for the Northern District of California"),
        ("the Court of Appeals reversed", "Court of Appeals"),
        ("Superior Court of California, County of Los Angeles, ruled", "Superior Court of California, County of Los Angeles"),
        ("SUPERIOR COURT OF CALIFORNIA, COUNTY OF SAN FRANCISCO", "SUPERIOR COURT OF CALIFORNIA, COUNTY OF SAN FRANCISCO"),
        ("the Texas Supreme Court agreed", "Texas Supreme Court"),
        ("the Supreme Court of Ohio agreed", "Supreme Court of Ohio"),
        ("the Los Angeles County Superior Court", "Los Angeles County Superior Court"),
        ("the Tenth Circuit affirmed", "Tenth Circuit"),
        ("CERTIORARI TO THE UNITED STATES COURT OF APPEALS FOR\r\nTHE TENTH CIRCUIT",
         "UNITED STATES COURT OF APPEALS FOR\r\nTHE TENTH CIRCUIT"),
    ],
)
def test_court_names(text, expected):
    spans = court_spans(text)
    assert _texts(text, spans) == [expected]
    assert spans[0].normalized == " ".join(expected.split())
    assert spans[0].extractor == "rules" and spans[0].label == "COURT"


def test_lowercase_generic_court_is_not_a_name():
    assert court_spans("the district court erred and the court of appeals agreed") == []


@pytest.mark.parametrize(
    "text,numbers,first_text",
    [
        ("No. 11-889", ["11-889"], "No. 11-889"),
        ("No. 11–889. Argued April 23, 2013", ["11-889"], "No. 11–889"),
        ("Case No. 2:19-cv-01234-ABC", ["2:19-cv-01234-abc"], "Case No. 2:19-cv-01234-ABC"),
        ("filed as 1:21-cv-01234 (D. Ariz.)", ["1:21-cv-01234"], "1:21-cv-01234"),
        ("Civil Action No. 20-1234", ["20-1234"], "Civil Action No. 20-1234"),
        ("Docket No. 123456", ["123456"], "Docket No. 123456"),
        ("Nos. 11-889, 11-890", ["11-889", "11-890"], "Nos. 11-889"),
        ("Case No. BC123456", ["bc123456"], "Case No. BC123456"),
    ],
)
def test_dockets(text, numbers, first_text):
    spans = docket_spans(text)
    assert [s.normalized for s in spans] == numbers
    assert text[spans[0].start : spans[0].end] == first_text


@pytest.mark.parametrize("text", ["Pub. L. No. 111-203", "ECF No. 40", "Exhibit No. 12", "page 11-889", "Dkt. No. 7",
                                  "Docket Entry No. 11-1", "Dkt. No. 12-3", "Docket No. 477"])
def test_not_dockets(text):
    assert docket_spans(text) == []


def test_statutes():
    text = "Section 10(b) of the Securities Exchange Act of 1934 and Rule 10b-5 apply."
    assert _texts(text, statute_spans(text)) == ["Section 10(b) of the Securities Exchange Act of 1934", "Rule 10b-5"]


def test_rule_spans_sorted():
    text = "No. 11-889 in the Tenth Circuit"
    spans = rule_spans(text)
    assert [s.label for s in spans] == ["DOCKET", "COURT"]


# ------------------------------------------------------------------------------------------ merge


def test_precise_span_beats_overlapping_spacy_spans():
    spacy = [Span("OTHER", 0, 3, source_label="CARDINAL"), Span("GPE", 4, 8, source_label="GPE"),
             Span("PERSON", 30, 35)]
    precise = [Span("CASE", 0, 12, source_label="FullCaseCitation", extractor="eyecite", normalized="410 U.S. 113")]
    out = merge_spans(spacy, precise)
    assert [(s.label, s.start, s.end) for s in out] == [("CASE", 0, 12), ("PERSON", 30, 35)]


def test_rules_beat_spacy_org_cardinal_date():
    precise = [Span("COURT", 10, 40, extractor="rules"), Span("DOCKET", 50, 60, extractor="rules")]
    spacy = [Span("ORG", 10, 30), Span("OTHER", 54, 60, source_label="CARDINAL"), Span("DATE", 58, 70),
             Span("DATE", 80, 90)]
    out = merge_spans(spacy, precise)
    assert [(s.label, s.start) for s in out] == [("COURT", 10), ("DOCKET", 50), ("DATE", 80)]


def test_parties_nested_in_case_name_are_kept():
    # "United States v. Detroit Timber & Lumber Co., 200 U. S. 321"
    case = Span("CASE", 0, 59, extractor="eyecite", core_start=46)
    spacy = [Span("GPE", 0, 13), Span("ORG", 17, 44), Span("OTHER", 46, 49, source_label="CARDINAL"),
             Span("DATE", 40, 50)]
    out = merge_spans(spacy, [case])
    assert [(s.label, s.start) for s in out] == [("GPE", 0), ("CASE", 0), ("ORG", 17)]


def test_identical_duplicates_collapse_and_nothing_else_is_dropped():
    a = Span("LAW", 0, 10, extractor="eyecite", source_label="FullLawCitation")
    b = Span("LAW", 0, 10, extractor="rules", source_label="statute")
    c = Span("LAW", 2, 12, extractor="rules", source_label="statute")
    other = Span("OTHER", 20, 25, source_label="NORP")
    out = merge_spans([other, Span("OTHER", 20, 25, source_label="NORP")], [b, a, c])
    assert out == [a, c, other]


# -------------------------------------------------------------------------------------- citations


def test_case_citation_with_name_and_normalized():
    text = "See Roe v. Wade, 410 U. S. 113, 115 (1973). Later: Id., at 120."
    cites = find_citations(text)
    full = cites[0]
    assert full.kind == "FullCaseCitation" and full.label == "CASE"
    assert text[full.start : full.end] == "Roe v. Wade, 410 U. S. 113, 115 (1973)"
    assert text[full.core_start : full.core_end] == "410 U. S. 113"
    assert full.normalized == "410 U.S. 113"
    id_cite = cites[1]
    assert id_cite.kind == "IdCitation" and id_cite.label == "CASE" and id_cite.normalized == "410 U.S. 113"


def test_full_span_does_not_run_into_the_next_citation():
    text = "United States v. Detroit Timber & Lumber Co., 200 U. S. 321, 337. In Roe v. Wade, 410 U.S. 113, 115 (1973)."
    first = find_citations(text)[0]
    assert text[first.start : first.end] == "United States v. Detroit Timber & Lumber Co., 200 U. S. 321, 337"
    spans = citation_spans(text)
    assert spans[0].core_start == text.index("200")


def test_law_and_other_citations():
    text = "Under 42 U.S.C. § 1983 and 28 C.F.R. § 35.130(b)(7), see 1 Minn. L. Rev. 1 (1999) and §5.05(b)(1)’s text."
    by_kind = {c.kind: c for c in find_citations(text)}
    assert by_kind["FullLawCitation"].label == "LAW"
    assert {c.normalized for c in find_citations(text) if c.kind == "FullLawCitation"} == {
        "42 U.S.C. § 1983", "28 C.F.R. § 35.130"}
    assert by_kind["FullJournalCitation"].label == "OTHER"
    unknown = by_kind["UnknownCitation"]
    assert unknown.label == "LAW" and text[unknown.start : unknown.end] == "§5.05(b)(1)"


def test_unresolved_id_is_other_not_dropped():
    text = "As noted, id., at 5."
    cites = find_citations(text)
    assert [(c.kind, c.label, c.normalized) for c in cites] == [("IdCitation", "OTHER", None)]


def test_prefilter_skips_only_texts_without_citation_material():
    assert find_citations("No digits, no section sign, nothing to cite here.") == []
    for text in ["Id.", "ibid.", "Adarand, supra", "§ 12", "1 U.S. 1"]:
        assert MAYBE_CITATION.search(text)


def test_pool_slices_cover_everything_in_order():
    for n in (1, 2, 3, 29, 64, 1000):
        cuts = slices(n, 2, 64)
        assert cuts[0][0] == 0 and cuts[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(cuts, cuts[1:]))
        if n >= 4:
            assert len(cuts) >= 2  # both workers busy


def test_org_suffix_rule_finds_contract_parties():
    from lexprep.ner.rules import org_suffix_spans

    text = ('between I-ON INTERACTIVE, INC., a Florida corporation, and ENTERPRISE TRANSPORTATION COMPANY ("Carrier"); '
            "the Company shall pay. The Company agrees. Stallings Capital Group Consultants, Ltd. signs.")
    found = [text[s.start:s.end] for s in org_suffix_spans(text)]
    assert found == ["I-ON INTERACTIVE, INC.", "ENTERPRISE TRANSPORTATION COMPANY",
                     "Stallings Capital Group Consultants, Ltd."]
    assert all(s.label == "ORG" and s.extractor == "rules" for s in org_suffix_spans(text))
