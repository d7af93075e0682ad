"""Facts: dates, the rule extractors (contracts, court documents, e-mail), verification, typed edges,
and the store round trip (save, entity links after resolution, graph, status, export, quality gates)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lexprep import pipeline
from lexprep.facts import extract_facts, locate, verify
from lexprep.facts import contracts, court, email as email_rules
from lexprep.facts.dates import find_dates, parse_date, valid_iso_date
from lexprep.facts.edges import typed_edges
from lexprep.graph import ChunkRef, DocRef, MentionLink, build_relationships
from lexprep.models import (
    CategoryResult,
    Chunk,
    CleanText,
    DocumentResult,
    ExtractedDocument,
    Fact,
    Mention,
    Page,
    PageSpan,
    SourceFile,
    sha256_bytes,
)
from lexprep.quality import run_quality_gates
from lexprep.settings import GraphSettings, QualitySettings, Settings
from lexprep.store import Store
from lexprep.store import schema as t
from lexprep.store.facts import FactLink

pytestmark = pytest.mark.unit

CONTRACT = (
    "EXHIBIT 10.1\nMASTER SUPPLY AGREEMENT\n"
    "This Master Supply Agreement (the \"Agreement\") is made and entered into this 15th day of\n"
    "March, 2019 by and between Northwind Traders, Inc., a Delaware corporation having its principal\n"
    "office at 12 Harbor Road, Portland, Maine 04101 (\"Supplier\"), and Blue Heron Foods LLC, an Oregon\n"
    "limited liability company (\"Buyer\").\n"
    "WHEREAS, Supplier makes organic products (the \"Products\").\n"
    "1. Term. This Agreement shall commence on April 1, 2019 and shall continue for a period of two (2)\n"
    "years, unless terminated earlier. It shall automatically renew for successive one (1) year periods.\n"
    "2. Buyer, a company organized under the laws of the State of Oregon, shall pay promptly.\n"
    "3. Notices. All notices shall be sent to Supplier: 12 Harbor Road, Portland, ME 04101.\n"
    "4. This Agreement shall be governed by and construed in accordance with the laws of the\n"
    "Commonwealth of Massachusetts, without regard to its conflict of laws rules.\n"
)

CAPTION = (
    "United States Court of Appeals\nFor the Seventh Circuit\nNo. 21-3345\n"
    "MARIA LOPEZ,\nPlaintiff, Appellant,\nv.\nGREAT LAKES SHIPPING CO.,\nDefendant, Appellee.\n"
    "Appeal from the United States District Court\nfor the Northern District of Illinois\nNo. 1:19-cv-0042\n"
    "[Hon. Robert Gettleman, U.S. District Judge]\n"
    "Before\nEasterbrook, Chief Judge,\nRovner and Kirsch, Circuit Judges.\n"
    "Decided July 8, 2022\n"
    "For the reasons below, we REVERSE and remand.\n"
)

EMAIL = (
    "From: Jane Doe <jane.doe@firm.example>\nTo: Bob <bob@client.example>, info@client.example\n"
    "Cc: \"Carla Ruiz\" <carla@firm.example>\nBcc: audit@firm.example\nDate: 2024-05-02T09:30:00-04:00\n"
    "Subject: Settlement draft\n\nPlease find the draft attached.\n"
)


# ---------------------------------------------------------------------------- dates


@pytest.mark.parametrize("text, iso", [
    ("this 6th day\nof April, 1999", "1999-04-06"), ("first (1st) day of January, 1996", "1996-01-01"),
    ("Sept. 3, 2001", "2001-09-03"), ("14 May 1991", "1991-05-14"), ("4/6/99", "1999-04-06"),
    ("on 12/31/2010.", "2010-12-31"), ("2021-01-19", "2021-01-19"), ("the twenty-first day of June, 2004", "2004-06-21"),
])
def test_dates_are_found_and_normalised(text, iso):
    assert parse_date(text) == iso


def test_impossible_dates_are_no_dates():
    assert find_dates("February 30, 2001 and 2/30/2001") == []
    assert valid_iso_date("2020-02-29") and not valid_iso_date("2021-02-29") and not valid_iso_date("2021-2-1")
    assert not valid_iso_date(None)


def test_locate_tolerates_line_breaks_and_curly_quotes():
    text = "between Acme, Inc.\n(\u201cSeller\u201d) and"
    assert locate(text, 'Acme, Inc. ("Seller")') == (8, 29)
    assert locate(text, "Nothing like it") is None


# ---------------------------------------------------------------------------- rules


def pairs(k: dict, kind: str) -> list[tuple[str, str | None]]:
    """``(value, role)`` of the facts of ``kind`` in ``k`` (from :func:`by_kind`)."""
    return [(f.value, f.role) for f in k[kind]]


def by_kind(facts):
    out: dict[str, list[Fact]] = {}
    for f in facts:
        out.setdefault(f.kind, []).append(f)
    return out


def test_contract_rules():
    facts, added = contracts.extract(CONTRACT, [])
    k = by_kind(facts)
    assert pairs(k, "party") == [("Northwind Traders, Inc.", "Supplier"),
                                                      ("Blue Heron Foods LLC", "Buyer")]
    assert all(f.attrs["defined_term"] == f.role for f in k["party"])
    assert [m.text for m in added if m.label == "ORG"][:2] == ["Northwind Traders, Inc.", "Blue Heron Foods LLC"]
    assert k["agreement_date"][0].normalized == "2019-03-15"
    assert k["effective_date"][0].normalized == "2019-04-01"
    assert (k["term"][0].normalized, k["expiration_date"][0].normalized) == ("P2Y", "2021-04-01")
    assert k["expiration_date"][0].attrs["computed"] is True
    assert k["renewal_term"][0].normalized == "P1Y"
    law = k["governing_law"][0]
    assert (law.value, law.normalized) == ("the Commonwealth of Massachusetts", "Massachusetts")  # not "organized under"
    assert CONTRACT[slice(*law.entity_span)] == "Massachusetts"
    assert k["notice_address"][0].role == "Supplier"
    for f in facts:  # every rule fact passes verification
        assert verify(f, CONTRACT) is None, (f.kind, f.value)


def test_contract_with_the_date_first_written_and_signature_dates():
    text = ("SERVICES CONTRACT\nDate: June 1, 1998\nTHIS CONTRACT is entered into by and between Alpha Co.,\n"
            "a Texas corporation (\"Carrier\"), and Beta Corp. (\"Shipper\").\nNOW, THEREFORE, the parties agree:\n"
            "This contract shall be for a term of one year commencing on the date first above written.\n")
    k = by_kind(contracts.extract(text, [])[0])
    assert [f.value for f in k["party"]] == ["Alpha Co.", "Beta Corp."]
    assert k["agreement_date"][0].normalized == "1998-06-01"
    eff = k["effective_date"][0]
    assert eff.normalized == "1998-06-01" and eff.attrs == {"refers_to": "agreement_date"}
    assert k["expiration_date"][0].normalized == "1999-06-01"
    signed = ("Gamma Ltd. (\"Licensor\") and Delta Inc. (\"Licensee\") agree that these terms govern.\n"
              "Signed: Date: October 16, 1996 Date: November 5, 1996\n")
    k = by_kind(contracts.extract(signed, [])[0])
    assert k["agreement_date"][0].normalized == "1996-11-05"  # the last signature
    assert k["agreement_date"][0].attrs == {"source": "signature"}


def test_contract_with_a_numbered_list_of_parties_and_an_adjectival_law():
    text = ("THIS LOAN AGREEMENT is made on 7th December, 2007 BETWEEN: (1) RIVIERA SOLAIRE S. A. S., a private\n"
            "company incorporated under the laws of France, represented by Mr. Paul Marchand, hereinafter referred to as\n"
            "the \"Borrower\", and (2) ORCHARD ENERGY, INC., a company incorporated in Delaware, hereinafter referred to\n"
            "as the \"Lender\", hereinafter each a \"Party\".\nWHEREAS: (A) the Borrower builds a plant.\n"
            "16.1 This Agreement shall be governed by and construed in accordance with French law.\n")
    k = by_kind(contracts.extract(text, [])[0])
    assert pairs(k, "party") == [("RIVIERA SOLAIRE S. A. S.", "Borrower"),
                                                      ("ORCHARD ENERGY, INC.", "Lender")]
    assert k["agreement_date"][0].normalized == "2007-12-07"
    assert (k["governing_law"][0].value, k["governing_law"][0].normalized) == ("French law", "France")


def test_contract_variants_capitals_agents_and_a_first_line_party():
    text = ("CREDIT AGREEMENT dated as of May 1, 2005, among ALPHA HOLDINGS, INC., a Delaware corporation (the\n"
            "\"Borrower\"), and FIRST NATIONAL BANK, N.A., as administrative agent (in such capacity, the \"Agent\").\n"
            "The parties agree as follows:\n12.5 THIS AGREEMENT SHALL BE GOVERNED BY THE LAWS OF THE STATE OF TEXAS\n"
            "WITHOUT REGARD TO CONFLICTS OF LAW PRINCIPLES.\n")
    k = by_kind(contracts.extract(text, [])[0])
    assert pairs(k, "party") == [("ALPHA HOLDINGS, INC.", "Borrower"), ("FIRST NATIONAL BANK, N.A.", "Agent")]
    assert (k["governing_law"][0].value, k["governing_law"][0].normalized) == ("THE STATE OF TEXAS", "Texas")
    first = 'Gamma Co. ("Seller") and Delta LLC ("Buyer") agree that: THIS AGREEMENT IS GOVERNED BY THE LAWS OF ENGLAND AND WALES.'
    k = by_kind(contracts.extract(first, [])[0])
    assert [f.value for f in k["party"]] == ["Gamma Co.", "Delta LLC"]
    assert k["governing_law"][0].normalized == "England and Wales"


@pytest.mark.parametrize("text, expected", [
    ("CONSULTING AGREEMENT\nThis Consulting Agreement is made effective as of the 1st day of July, 2010 (the \u201c"
     "Effective Date\u201d) by and between Nova Labs, Inc., a Nevada corporation (\u201cNova\u201d), and Peter Smith, an "
     "individual residing in Reno, Nevada (\u201cConsultant\u201d).\nRECITALS\n2. Term. The term of this Agreement shall "
     "be from July 1, 2010 to June 30, 2011, unless terminated earlier.\n",
     {"party": ["Nova Labs, Inc.", "Peter Smith"], "agreement_date": ["2010-07-01"], "effective_date": ["2010-07-01"],
      "expiration_date": ["2011-06-30"]}),
    ("SUPPLY AGREEMENT\nThis Agreement, dated December 3, 2003, is between Red Oak Mills, Inc. (\"Supplier\") and Blue "
     "Lake Stores Corp. (\"Retailer\").\nIN CONSIDERATION of the mutual covenants, the parties agree:\nThe term of this "
     "Agreement begins on January 1, 2004. This Agreement shall expire on December 31, 2008.\nThis Agreement shall be "
     "interpreted according to the laws of the State of Ohio.\n",
     {"party": ["Red Oak Mills, Inc.", "Blue Lake Stores Corp."], "agreement_date": ["2003-12-03"],
      "effective_date": ["2004-01-01"], "expiration_date": ["2008-12-31"], "governing_law": ["Ohio"]}),
    ("LEASE\nThis Lease is entered into as of the Effective Date by and between Pine Realty LLC (\"Landlord\") and Cedar "
     "Cafe Inc. (\"Tenant\").\nNOW, THEREFORE:\n1.1 \"Effective Date\" means March 3, 2015.\n",
     {"party": ["Pine Realty LLC", "Cedar Cafe Inc."], "effective_date": ["2015-03-03"],
      "agreement_date": ["2015-03-03"]}),
])
def test_contract_term_phrasings(text, expected):
    k = by_kind(contracts.extract(text, [])[0])
    for kind, values in expected.items():
        got = [f.value if kind == "party" else f.normalized for f in k.get(kind, [])]
        assert got == values, kind


def test_court_rules():
    roles = {"MARIA LOPEZ": ["plaintiff", "appellant"], "GREAT LAKES SHIPPING CO.": ["defendant", "appellee"]}
    mentions = []
    for name, r in roles.items():
        s = CAPTION.index(name)
        mentions.append(Mention(0, "PERSON" if "LOPEZ" in name else "ORG", name, 0, 0, s, s + len(name),
                                extractor="rules", attrs={"roles": r}))
    facts, _ = court.extract(CAPTION, mentions)
    k = by_kind(facts)
    assert k["court"][0].normalized == "United States Court of Appeals for the Seventh Circuit"
    assert [(f.value, (f.attrs or {}).get("lower_court")) for f in k["docket_number"]] == [
        ("21-3345", None), ("1:19-cv-0042", True)]
    assert pairs(k, "party") == [("MARIA LOPEZ", "plaintiff-appellant"),
                                                      ("GREAT LAKES SHIPPING CO.", "defendant-appellee")]
    judges = pairs(k, "judge")
    assert ("Easterbrook", "panel") in judges and ("Rovner", "panel") in judges and ("Kirsch", "panel") in judges
    assert ("Robert Gettleman", "lower_court") in judges
    assert k["decision_date"][0].normalized == "2022-07-08"
    assert {f.normalized for f in k["disposition"]} == {"reversed", "remanded"}
    for f in facts:
        assert verify(f, CAPTION) is None, (f.kind, f.value)


def test_dispositions_and_the_trial_judge_in_a_column_caption():
    text = ("In the Missouri Court of Appeals\nEastern District\nJANE ROE, ) No. ED100001\n)\nAppellant, ) Appeal from "
            "the Circuit Court of\n) St. Louis County\nvs. ) No. 19SL-CC0001\n)\nSTATE OF MISSOURI, ) Honorable Ann B. "
            "Carter\n)\nRespondent. ) Filed: May 4, 2021\nThe judgment dismissing the motion is reversed. We remand.\n"
            "In 2019 the first motion was denied. Her objection to the witness list is denied in part.\n")
    k = by_kind(court.extract(text, [])[0])
    assert pairs(k, "judge") == [("Ann B. Carter", "lower_court")]
    assert pairs(k, "party") == [("JANE ROE", "appellant"), ("STATE OF MISSOURI", "respondent")]
    assert [f.normalized for f in k["disposition"]] == ["reversed", "remanded"]
    assert k["filing_date"][0].normalized == "2021-05-04"


@pytest.mark.parametrize("text, court_name, docket, parties", [
    ("SUPERIOR COURT OF THE STATE OF CALIFORNIA\nFOR THE COUNTY OF LOS ANGELES\nJOHN DOE,\nPlaintiff,\nv.\nACME INC.,\n"
     "Defendant.\nCase No. BC123456\n",
     "Superior Court of the State of California for the County of Los Angeles", "BC123456",
     [("JOHN DOE", "plaintiff"), ("ACME INC.", "defendant")]),
    ("IN THE CIRCUIT COURT OF COOK COUNTY, ILLINOIS\nJANE ROE,\nPlaintiff,\nv.\nBETA LLC,\nDefendant.\nNo. 2019 L 001234\n",
     "Circuit Court of Cook County, Illinois", "2019 L 001234", [("JANE ROE", "plaintiff"), ("BETA LLC", "defendant")]),
    ("IN THE COURT OF CHANCERY OF THE STATE OF DELAWARE\nIN RE DELTA INC. STOCKHOLDER LITIGATION\nC.A. No. 2021-0001-JTL\n",
     "Court of Chancery of the State of Delaware", "2021-0001-JTL", [("DELTA INC. STOCKHOLDER LITIGATION", "in_re")]),
    ("COURT OF APPEAL OF THE STATE OF CALIFORNIA\nSECOND APPELLATE DISTRICT\nTHE PEOPLE,\nPlaintiff and Respondent,\nv.\n"
     "JOHN SMITH,\nDefendant and Appellant.\nNo. B301234\n",
     "Court of Appeal of the State of California Second Appellate District", "B301234",
     [("THE PEOPLE", "plaintiff-respondent"), ("JOHN SMITH", "defendant-appellant")]),
])
def test_state_court_captions(text, court_name, docket, parties):
    k = by_kind(court.extract(text, [])[0])
    assert k["court"][0].normalized == court_name
    assert [f.value for f in k["docket_number"]] == [docket]
    assert pairs(k, "party") == parties


def test_counsel_rules():
    text = ("United States Court of Appeals\nFor the First Circuit\nNo. 20-1507\nACME CHAPEL,\nPlaintiff, Appellant,\n"
            "v.\nJOHN ROE,\nDefendant, Appellee.\n"
            "Roger K. Gannam, with whom Mathew D. Staver was on brief, for appellant.\n")
    mentions = [Mention(0, "PERSON", n, 0, 0, text.index(n), text.index(n) + len(n))
                for n in ("Roger K. Gannam", "Mathew D. Staver")]
    k = by_kind(court.extract(text, mentions)[0])
    assert pairs(k, "counsel") == [("Roger K. Gannam", "appellant"), ("Mathew D. Staver", "appellant")]


def test_counsel_from_a_signature_block_and_no_address_read_across_columns():
    text = ("No. 21-100\nIN THE UNITED STATES COURT OF APPEALS\nFOR THE NINTH CIRCUIT\nJOHN ROE,\nPlaintiff-Appellee,\nv.\n"
            "ACME CORP.,\nDefendant-Appellant.\nMOTION TO STAY\nMARY LU CHEN\nmchen@firm.example\nPETER O. BRANDT*\n"
            "pbrandt@firm.example\nFIRM LLP\n1 Main Street\nCounsel for Plaintiff-Appellee\n")
    k = by_kind(court.extract(text, [])[0])
    assert pairs(k, "counsel") == [("MARY LU CHEN", "plaintiff-appellee"),
                                                        ("PETER O. BRANDT", "plaintiff-appellee")]
    columns = ("Gamma Ltd. (\"Licensor\") and Delta Inc. (\"Licensee\") agree that these terms govern.\nNOTICES: notices go to\n"
               "To Licensor: To Licensee:\n12 Oak Street 40 Elm Avenue Springfield, IL 62701 Peoria, IL 61602\n")
    assert "notice_address" not in by_kind(contracts.extract(columns, [])[0])


def test_email_rules_make_participants_with_their_address_as_alias():
    meta = {"from": "Jane Doe <jane.doe@firm.example>", "message_id": "<abc@firm.example>",
            "in_reply_to": "<prev@client.example>", "references": "<root@x.example> <prev@client.example>"}
    facts, added = email_rules.extract(EMAIL, meta, [])
    k = by_kind(facts)
    assert [(f.value, f.normalized, f.role) for f in k["email_from"]] == [("Jane Doe", "jane.doe@firm.example", "from")]
    assert [f.normalized for f in k["email_to"]] == ["bob@client.example", "info@client.example"]
    assert [f.normalized for f in k["email_cc"]] == ["carla@firm.example"]
    assert [f.normalized for f in k["email_bcc"]] == ["audit@firm.example"]
    assert k["sent_date"][0].normalized == "2024-05-02" and k["subject"][0].value == "Settlement draft"
    assert [f.normalized for f in k["references"]] == ["root@x.example", "prev@client.example"]
    assert k["message_id"][0].evidence_source == "header" and verify(k["message_id"][0], EMAIL, meta) is None
    spans = {m.text: m for m in added}
    # a full name is the entity's key, its address a linked alias; "Bob" is an alias of his address
    assert spans["jane.doe@firm.example"].link == (spans["Jane Doe"].doc_start, spans["Jane Doe"].doc_end)
    assert spans["Bob"].link == (spans["bob@client.example"].doc_start, spans["bob@client.example"].doc_end)
    assert spans["info@client.example"].label == "ORG" and spans["Jane Doe"].label == "PERSON"
    for f in facts:
        assert verify(f, EMAIL, meta) is None, (f.kind, f.value)


def test_verify_rejects_what_the_text_does_not_say():
    ok = Fact("party", "Acme", None, 0, 4, "Acme")
    assert verify(ok, "Acme Corp") is None
    assert verify(Fact("party", "Acme", None, 0, 4, "Acmf"), "Acme Corp") == "evidence not verbatim in the text"
    assert verify(Fact("party", "Acme", None, 5, 40, "Corp"), "Acme Corp") == "evidence not verbatim in the text"
    assert verify(Fact("agreement_date", "x", "2021-02-30", 0, 4, "Acme"), "Acme") == "date not a valid ISO date"
    assert verify(Fact("gadget", "x", None, 0, 4, "Acme"), "Acme") == "unknown kind"
    assert verify(Fact("message_id", "<a>", "a", 0, 3, "<a>", "header", attrs={"header": "message_id"}),
                  "", {"message_id": "<b>"}) == "evidence not verbatim in the text"


def test_extract_facts_counts_rejects_and_respects_kind_none():
    s = Settings()
    result = extract_facts(CONTRACT, "contract", {}, [], s)
    assert result.rejected == [] and result.summary()["facts"] == len(result.facts) > 8
    s.facts.kind = "none"
    assert extract_facts(CONTRACT, "contract", {}, [], s).facts == []


# ---------------------------------------------------------------------------- typed edges


def link(doc, kind, value, entity=None, role=None, normalized=None, chunk="c1"):
    return FactLink(f"{doc}-{kind}-{value}", doc, kind, value, normalized, role, entity, chunk, None)


def test_typed_edges():
    facts = [
        link("d1", "party", "Acme", "E_acme", "plaintiff-appellant"), link("d1", "party", "Roe", "E_roe", "defendant-appellee"),
        link("d1", "counsel", "Gannam", "E_gannam", "appellant"), link("d1", "judge", "Howard", "E_howard", "panel"),
        link("d1", "judge", "Torresen", "E_torresen", "lower_court"), link("d1", "court", "CA1", "E_ca1"),
        link("d2", "governing_law", "Texas", "E_tx", normalized="Texas"),
        link("d3", "email_from", "Jane", "E_jane"), link("d3", "email_to", "Bob", "E_bob", "to"),
        link("d3", "message_id", "<m3>", normalized="m3"),
        link("d4", "in_reply_to", "<m3>", normalized="m3"), link("d4", "message_id", "<m4>", normalized="m4"),
        link("d5", "in_reply_to", "<gone>", normalized="gone"),
        link("d1", "party", "NoEntity", None, "plaintiff"),
    ]
    edges = typed_edges(facts, {"d4": "d4c0", "d5": "d5c0"})
    got = {(r.type, r.source_id, r.target_id, r.role) for r in edges}
    assert ("PARTY_TO", "E_acme", "d1", "plaintiff-appellant") in got
    assert ("REPRESENTS", "E_gannam", "E_acme", "appellant") in got
    assert not any(r.type == "REPRESENTS" and r.target_id == "E_roe" for r in edges)
    assert ("JUDGE_OF", "E_howard", "d1", "panel") in got and not any(r.source_id == "E_torresen" for r in edges)
    assert ("FILED_IN", "d1", "E_ca1", None) in got and ("GOVERNED_BY", "d2", "E_tx", None) in got
    assert ("SENT", "E_jane", "d3", None) in got and ("RECEIVED", "E_bob", "d3", "to") in got
    assert ("REPLY_TO", "d4", "d3", None) in got
    reply = [r for r in edges if r.source_id == "d5"][0]
    assert reply.target_kind == "message" and reply.evidence_chunk_id == "d5c0"
    assert all(r.evidence_chunk_id for r in edges)
    assert len([r for r in edges if r.type == "PARTY_TO"]) == 2  # the party without an entity has no edge


def test_cooccurrence_is_capped_per_mention():
    labels = {f"e{i}": "PERSON" for i in range(6)}
    mentions = [MentionLink("d", i * 10, i * 10 + 5, f"e{i}") for i in range(6)]  # six names in a row
    chunks = [ChunkRef("c", "d", 0, 100)]
    capped = build_relationships([DocRef("d")], chunks, mentions, labels, GraphSettings(cooccurrence_max_neighbours=2))
    uncapped = build_relationships([DocRef("d")], chunks, mentions, labels, GraphSettings(cooccurrence_max_neighbours=0))
    co = lambda rels: [r for r in rels if r.type == "CO_OCCURS"]  # noqa: E731
    assert len(co(uncapped)) == 15 and len(co(capped)) == 9  # 5 + 4 pairs ... versus every pair
    assert co(build_relationships([DocRef("d")], chunks, mentions, labels, GraphSettings(cooccurrence=False))) == []


# ---------------------------------------------------------------------------- the store round trip


def email_result(text: str, meta: dict, name: str) -> DocumentResult:
    """A processed e-mail: one chunk, no NER mentions (the fact extractor adds the participants)."""
    data = text.encode()
    src = SourceFile(uri=f"/m/{name}", file_name=name, sha256=sha256_bytes(data), size=len(data), kind="eml")
    extracted = ExtractedDocument(kind="eml", pages=[Page(1, "native", text, 1.0)], meta=dict(meta))
    clean = CleanText(text=text, page_spans=[PageSpan(1, 0, len(text))])
    chunks = [Chunk(0, text, 0, len(text), 1, 1, len(text.split()))]
    category = CategoryResult("correspondence", "headers")
    mentions: list[Mention] = []
    facts = pipeline.facts_stage(clean, chunks, category, extracted, mentions, Settings()).facts
    return pipeline.document_result(src, extracted, clean, category, chunks, mentions, Settings(), {}, None, facts)


@pytest.fixture
def store(store_url: str):
    """SQLite (unit) and PostgreSQL (integration: the quality gate's substr, COPY of fact rows)."""
    s = Store.open(store_url)
    yield s
    s.close()


def test_facts_are_stored_linked_graphed_counted_and_exported(store: Store, tmp_path: Path):
    settings = Settings()
    matter_id = store.ensure_matter("m")
    first = email_result(EMAIL, {"message_id": "<one@firm.example>"}, "one.eml")
    reply_text = ("From: Bob <bob@client.example>\nTo: Jane Doe <jane.doe@firm.example>\nDate: 2024-05-03\n"
                  "Subject: Re: Settlement draft\n\nLooks good.\n")
    reply = email_result(reply_text, {"message_id": "<two@client.example>", "in_reply_to": "<one@firm.example>"},
                         "two.eml")
    assert first.extracted.meta["facts"]["facts"] == len(first.facts) and first.extracted.meta["facts"]["rejected"] == 0
    ids = {}
    for r in (first, reply):
        ids[r.source.file_name] = store.register_document(matter_id, "m", r.source, None)
        store.save_document(ids[r.source.file_name], r, "3", settings.fingerprint())
    pipeline.resolve_matter(store, matter_id, "m", settings)
    graph = pipeline.graph_matter(store, matter_id, settings)
    assert graph["facts_linked"] == 7 and graph["typed_edges"] >= 6  # every participant

    status = store.status(matter_id)
    assert status["facts_by_kind"]["email_to"] == 3 and status["facts_by_kind"]["message_id"] == 2
    assert status["facts"] == sum(status["facts_by_kind"].values()) and status["facts_rejected"] == 0
    types = status["relationships_by_type"]
    assert types["SENT"] == 2 and types["REPLY_TO"] == 1 and types["RECEIVED"] >= 4

    out = tmp_path / "export"
    counts = store.export(matter_id, out)
    facts = [json.loads(x) for x in (out / "facts.jsonl").read_text().splitlines()]
    assert counts["facts.jsonl"] == len(facts) == status["facts"]
    docs = {d["id"]: d for d in map(json.loads, (out / "documents.jsonl").read_text().splitlines())}
    for f in facts:  # every exported fact's evidence is where it says
        if f["evidence"]["source"] == "text":
            text = first.clean.text if f["document_id"] == ids["one.eml"] else reply.clean.text
            assert text[f["evidence"]["start"]:f["evidence"]["end"]] == f["evidence"]["text"]
            assert f["evidence"]["chunk_id"] and f["evidence"]["page"] == 1
        assert f["document_id"] in docs
    entities = {e["id"]: e for e in map(json.loads, (out / "entities.jsonl").read_text().splitlines())}
    jane = [f for f in facts if f["kind"] == "email_from" and f["normalized"] == "jane.doe@firm.example"][0]
    assert entities[jane["entity_id"]]["name"] == "Jane Doe"
    assert "jane.doe@firm.example" in entities[jane["entity_id"]]["aliases"]
    # Jane is the sender of one and the recipient of the other: one entity
    jane_to = [f for f in facts if f["kind"] == "email_to" and f["normalized"] == "jane.doe@firm.example"][0]
    assert jane_to["entity_id"] == jane["entity_id"]
    rels = [json.loads(x) for x in (out / "relationships.jsonl").read_text().splitlines()]
    reply_edge = [r for r in rels if r["type"] == "REPLY_TO"][0]
    assert (reply_edge["source"], reply_edge["target"]) == (ids["two.eml"], ids["one.eml"])
    assert {r["role"] for r in rels if r["type"] == "RECEIVED"} == {"to", "cc", "bcc"}

    # quality gates: a fact whose evidence is not the text, and one with an impossible date, are quarantined
    with store.engine.begin() as conn:
        conn.execute(t.facts.update().where(t.facts.c.kind == "subject").values(evidence_text="Something else"))
        conn.execute(t.facts.update().where(t.facts.c.kind == "sent_date").values(normalized="2024-02-31"))
    s = Settings()
    s.quality = QualitySettings(on_failure="quarantine", engine="builtin")
    report = run_quality_gates(store, matter_id, s)
    assert report.success is False and "facts" in report.failed_tables
    assert len(report.quarantined["facts"]) == 4  # two subjects, two sent dates
    store.export(matter_id, out)
    kept = [json.loads(x) for x in (out / "facts.jsonl").read_text().splitlines()]
    assert not {f["kind"] for f in kept} & {"subject", "sent_date"}

    # deleting a document deletes its facts
    store.delete_document(ids["two.eml"])
    assert store.status(matter_id)["facts"] == len(first.facts)


def test_a_fact_never_adds_a_mention_overlapping_one_the_entity_layer_made():
    from lexprep.facts._common import entity_mention
    from lexprep.models import Mention

    text = "governed by the laws of the State of Texas. RICHARD J. JOHNSON, Appellant."
    def mention(label, phrase):
        s = text.index(phrase)
        return Mention(0, label, phrase, 0, 0, s, s + len(phrase), 1.0, "spacy", label)
    mentions = [mention("GPE", "State of Texas"), mention("PERSON", "J. JOHNSON")]
    added: list = []
    texas = text.index("Texas")
    assert entity_mention(text, texas, texas + 5, "GPE", mentions, added) == (mentions[0].doc_start, mentions[0].doc_end)
    rj = text.index("RICHARD")
    assert entity_mention(text, rj, rj + len("RICHARD J. JOHNSON"), "PERSON", mentions, added) == \
        (mentions[1].doc_start, mentions[1].doc_end)
    assert added == []
