"""Rules (COURT, DOCKET, statutes), merge precedence and eyecite citations (a library, not a model)."""

from __future__ import annotations

import pytest

from lexprep.ner.citations import MAYBE_CITATION, clean_case_name, find_citations
from lexprep.ner.merge import Span, merge_spans
from lexprep.ner.pool import slices
from lexprep.ner.rules import court_spans, docket_spans, money_spans, rule_spans, statute_spans

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
    merged = merge_spans([], statute_spans(text))
    assert _texts(text, merged) == ["Section 10(b) of the Securities Exchange Act of 1934", "Rule 10b-5"]


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


def test_words_inside_a_case_name_are_not_also_mentions():
    # "United States v. Detroit Timber & Lumber Co., 200 U. S. 321": the CASE span holds the parties
    case = Span("CASE", 0, 59, extractor="eyecite")
    spacy = [Span("GPE", 0, 13), Span("ORG", 17, 44), Span("OTHER", 46, 49, source_label="CARDINAL"),
             Span("DATE", 40, 50), Span("PERSON", 70, 80)]
    out = merge_spans(spacy, [case])
    assert [(s.label, s.start) for s in out] == [("CASE", 0), ("PERSON", 70)]


def test_one_mention_per_span_eyecite_before_rules_longer_first():
    a = Span("LAW", 0, 10, extractor="eyecite", source_label="FullLawCitation")
    b = Span("LAW", 0, 10, extractor="rules", source_label="statute")
    c = Span("LAW", 2, 12, extractor="rules", source_label="statute")
    other = Span("OTHER", 20, 25, source_label="NORP")
    out = merge_spans([other, Span("ORG", 21, 30)], [b, a, c])
    assert out == [a, Span("ORG", 21, 30)]  # the longer statistical span wins an overlap between them


# -------------------------------------------------------------------------------------- citations


def test_case_citation_is_the_case_with_pin_cite_apart():
    text = "See Roe v. Wade, 410 U. S. 113, 115 (1973). Later: Id., at 120."
    cites = find_citations(text)
    full = cites[0]
    assert full.kind == "FullCaseCitation" and full.label == "CASE"
    assert text[full.start : full.end] == "Roe v. Wade, 410 U. S. 113, 115 (1973)"
    assert full.normalized == "410 U.S. 113"
    assert full.attrs["case_name"] == "Roe v. Wade" and full.attrs["parenthetical"] == "(1973)"
    assert full.attrs["pin_cite"] == "115"
    id_cite = cites[1]
    assert id_cite.kind == "IdCitation" and id_cite.label == "CASE" and id_cite.normalized is None
    assert id_cite.link == (full.start, full.end) and id_cite.link_method == "id_cite"


def test_citation_broken_over_a_line_is_found():
    text = "In Smith v. Jones, 197\nU.S. 11, 14 (1905), the Court held."
    cites = find_citations(text)
    assert [c.normalized for c in cites] == ["197 U.S. 11"]
    assert text[cites[0].start:cites[0].end] == "Smith v. Jones, 197\nU.S. 11, 14 (1905)"


def test_parallel_citations_are_one_mention_of_one_case():
    text = "See Roe v. Wade, 410 U.S. 113, 120, 93 S. Ct. 705, 35 L. Ed. 2d 147 (1973). Next sentence."
    cites = find_citations(text)
    assert len(cites) == 1
    assert cites[0].normalized == "410 U.S. 113"
    assert cites[0].attrs["parallel"] == ["93 S. Ct. 705", "35 L. Ed. 2d 147"]
    assert text[cites[0].start:cites[0].end] == "Roe v. Wade, 410 U.S. 113, 120, 93 S. Ct. 705, 35 L. Ed. 2d 147 (1973)"


def test_short_cite_and_supra_link_to_the_full_citation():
    text = ("Nwaubani v. Grossman, 806 F.3d 677, 679 (1st Cir. 2015). Other words here. "
            "Nwaubani, 806 F.3d at 680. More words. Anderson v. Liberty Lobby, Inc., 477 U.S. 242, 248 (1986). "
            "Still more. Nwaubani, supra, at 681.")
    cites = find_citations(text)
    full = {c.normalized: c for c in cites if c.kind == "FullCaseCitation"}
    short = next(c for c in cites if c.kind == "ShortCaseCitation")
    assert short.link == (full["806 F.3d 677"].start, full["806 F.3d 677"].end) and short.link_method == "short_cite"
    assert text[short.start:short.end] == "Nwaubani, 806 F.3d at 680"
    supra = next(c for c in cites if c.kind == "SupraCitation")
    assert supra.link == (full["806 F.3d 677"].start, full["806 F.3d 677"].end) and supra.link_method == "supra"


def test_id_with_another_section_is_that_section_not_a_link():
    text = "Jurisdiction lies under 28 U.S.C. § 1291. Id. § 1292(a)(1) also applies."
    cites = find_citations(text)
    assert [(c.label, c.normalized) for c in cites] == [("LAW", "28 U.S.C. § 1291"), ("LAW", "28 U.S.C. § 1292(a)(1)")]
    assert cites[1].link is None


def test_record_cite_is_not_a_case_and_contract_sections_are_not_law():
    assert find_citations("The district court found so. 1 App. 24.") == []
    text = "as provided in §5.05(a) of this Agreement"
    assert [c.label for c in find_citations(text)] == ["LAW"]
    assert find_citations(text, contract=True) == []


def test_case_name_cleanup():
    assert clean_case_name("Later, Smith", "Jones") == "Smith v. Jones"
    assert clean_case_name("See Acme, Inc.", "Doe") == "Acme, Inc. v. Doe"


def test_law_and_other_citations():
    text = "Under 42 U.S.C. § 1983 and 28 C.F.R. § 35.130(b)(7), see 1 Minn. L. Rev. 1 (1999) and §5.05(b)(1)’s text."
    by_kind = {c.kind: c for c in find_citations(text)}
    assert by_kind["FullLawCitation"].label == "LAW"
    assert {c.normalized for c in find_citations(text) if c.kind == "FullLawCitation"} == {
        "42 U.S.C. § 1983", "28 C.F.R. § 35.130"}
    assert by_kind["FullJournalCitation"].label == "OTHER"
    unknown = by_kind["UnknownCitation"]
    assert unknown.label == "LAW" and text[unknown.start : unknown.end] == "§5.05(b)(1)"


def test_id_after_another_authority_is_not_the_earlier_case():
    text = ("See Texas v. Oklahoma, 457 U.S. 172 (1982). The Compact provides that water flows in subbasin 5. "
            "§5.05(b)(1). Id., at 25. And Roe v. Wade, 410 U.S. 113 (1973). Id., at 120.")
    cites = find_citations(text)
    ids = [c for c in cites if c.kind == "IdCitation"]
    roe = next(c for c in cites if c.kind == "FullCaseCitation" and "410" in c.normalized)
    assert [(text[c.start:c.end], c.link) for c in ids] == [("Id., at 120", (roe.start, roe.end))]
    # with a statute cited before the case: the section may be another law's, so the "id." links to neither
    text = ("The Red River Boundary Compact, Pub. L. 106-288, 114 Stat. 919, governs. See Texas v. Oklahoma, 457 "
            "U.S. 172 (1982). The Red River Compact provides that water flows in subbasin 5. §5.05(b)(1), id., at 25.")
    assert [c for c in find_citations(text) if c.kind == "IdCitation"] == []


def test_unresolved_id_is_not_a_mention():
    assert find_citations("As noted, id., at 5.") == []


def test_money_keeps_its_currency():
    text = "paid $3.5 million, then Ten Thousand Dollars ($10,000.00), 5,000 dollars and EUR 200."
    assert [text[s.start:s.end] for s in money_spans(text)] == [
        "$3.5 million", "Ten Thousand Dollars ($10,000.00)", "5,000 dollars", "EUR 200"]


def test_named_laws_and_state_codes():
    text = ("Okla. Stat., Tit. 82, § 1086.2 and the Texas Insurance Code and the First Amendment; "
            "This Act applies. See Fed. R. Civ. P. 56(a).")
    assert [text[s.start:s.end] for s in statute_spans(text)] == [
        "Okla. Stat., Tit. 82, § 1086.2", "Fed. R. Civ. P. 56(a)", "Texas Insurance Code", "First Amendment"]


def test_generic_law_words_are_no_law_and_a_party_before_and_the_is_not_part_of_one():
    text = "subject to the Rules and Regulations of Carrier and the Red River Compact apply."
    assert [text[s.start:s.end] for s in statute_spans(text)] == ["Red River Compact"]


def test_docket_with_a_bracketed_suffix_and_of_year_numbers():
    text = "Case No. 1:19-cv-01234 (JPO) and Criminal Appeal No. 1234 of 2019"
    assert [text[s.start:s.end] for s in docket_spans(text)] == [
        "Case No. 1:19-cv-01234 (JPO)", "Criminal Appeal No. 1234 of 2019"]


def test_court_named_with_its_seat():
    text = "before the High Court of Judicature at Bombay on appeal"
    assert [text[s.start:s.end] for s in court_spans(text)] == ["High Court of Judicature at Bombay"]


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


def test_org_suffix_rule_splits_two_companies_and_skips_documents_and_headings():
    from lexprep.ner.rules import org_suffix_spans

    text = ("Silicium de Provence SAS and Evergreen Solar Inc. sign the Limited Liability Company Agreement of the "
            "Company.\nPLACES WITHIN OR ADJACENT TO INCORPORATED\nReginald Ashton Williamson\n"
            "Kilpatrick Townsend & Stockton LLP\nDefendants C. R. Bard, Inc. and Johnson & Johnson Inc.")
    assert [text[s.start:s.end] for s in org_suffix_spans(text)] == [
        "Silicium de Provence SAS", "Evergreen Solar Inc.", "Kilpatrick Townsend & Stockton LLP", "C. R. Bard, Inc.",
        "Johnson & Johnson Inc."]


def test_case_name_before_an_in_re_parenthetical():
    text = "delay. Quiros Lopez v. Unanue Casal (In re Unanue Casal), 998 F.2d 28, 32 (1st Cir. 1993). Examples"
    (cite,) = find_citations(text)
    assert text[cite.start:cite.end] == "Quiros Lopez v. Unanue Casal (In re Unanue Casal), 998 F.2d 28, 32 (1st Cir. 1993)"
    assert cite.attrs["case_name"] == "Quiros Lopez v. Unanue Casal (In re Unanue Casal)"


def test_a_citation_without_a_case_name_takes_no_words_of_the_sentence_and_short_cites_keep_both_parties():
    text = "Nov. 18, 2009),\nApp. to Pet. for Cert. 72a-73a, 2009 WL 3922803, *8. The\nTenth Circuit affirmed."
    (cite,) = find_citations(text)
    assert text[cite.start:cite.end] == "2009 WL 3922803, *8"
    text = "See Alabama v. North Carolina, 560 U. S. 330 (2010). Later. See Alabama v. North Carolina, 560 U. S., at 340."
    short = [c for c in find_citations(text) if c.kind == "ShortCaseCitation"]
    assert [text[c.start:c.end] for c in short] == ["Alabama v. North Carolina, 560 U. S., at 340"]


def test_case_names_eyecite_cut_are_taken_whole():
    text = ("See Fidelity Fed. Sav. & Loan Assn. v. De la Cuesta, 458 U. S. 141, 153 (1982). As the court held. "
            "In re Recticel Foam Corp., 859 F.2d 1000, 1002 (1st Cir. 1988).")
    names = [c.attrs.get("case_name") for c in find_citations(text)]
    assert names == ["Fidelity Fed. Sav. & Loan Assn. v. De la Cuesta", "In re Recticel Foam Corp."]
