"""Entity resolution: keys, exact/fuzzy/surname/acronym/citation merges, ids, determinism, speed."""

from __future__ import annotations

import random
import time

import pytest

from lexprep.models import stable_id
from lexprep.resolve import MentionRef, resolve
from lexprep.resolve.keys import date_key, mention_key, money_key, org_key, person_key
from lexprep.settings import ResolveSettings

pytestmark = pytest.mark.unit

S = ResolveSettings()


def _refs(*items):
    out = []
    for i, item in enumerate(items):
        label, text, *norm = item
        out.append(MentionRef(f"m{i:03d}", label, text, norm[0] if norm else None))
    return out


def _entity_of(res, mention_id):
    eid = res.assignments[mention_id]
    return next(e for e in res.entities if e.id == eid)


@pytest.mark.parametrize(
    "text",
    ["Acme Inc.", "ACME, Inc", "Acme Corp.", "Acme Corporation", "Acme Co.", "The Acme Company", "Acme LLC",
     "Acme L.L.C.", "Acme Ltd", "Acme LP", "Acme L.P.", "Acme LLP", "Acme PLC", "Acme N.A.", "Acme S.A.",
     "Acme GmbH", "Acme’s", "acme, inc., llc"],
)
def test_org_suffixes(text):
    assert org_key(text) == "acme"


def test_org_key_keeps_a_bare_suffix_word():
    assert org_key("The Company") == "company"


@pytest.mark.parametrize(
    "text", ["Mr. John Smith", "Ms John Smith", "Mrs. John Smith", "Dr. John Smith", "Hon. John Smith",
             "The Honorable John Smith", "Judge John Smith", "Justice John Smith", "Smith, John", "John Smith, Esq."],
)
def test_person_honorifics(text):
    assert person_key(text) == "john smith"


def test_dates_and_money():
    assert date_key("June 13, 2013") == date_key("13 June 2013") == "2013-06-13"
    assert date_key("June 2013") == "2013-06"
    assert date_key("2013") == "2013"
    assert date_key("the first quarter") == "first quarter"
    assert money_key("$3.5 million") == money_key("$3,500,000") == "USD 3500000"
    assert money_key("€1,000") == "EUR 1000"
    assert money_key("5 dollars") == "USD 5"


def test_exact_org_merge_and_log():
    res = resolve(_refs(("ORG", "Detroit Timber & Lumber Co."), ("ORG", "Detroit Timber and Lumber Company"),
                        ("ORG", "Detroit Timber & Lumber Co.")), S, "matter")
    assert len(res.entities) == 1
    e = res.entities[0]
    assert e.name == "Detroit Timber & Lumber Co." and e.mention_count == 3
    assert e.aliases == ["Detroit Timber and Lumber Company"]
    assert [(m.alias, m.method, m.score) for m in res.merges] == [("Detroit Timber and Lumber Company", "exact", 100.0)]
    assert e.id == stable_id("matter", "ORG", "detroit timber and lumber")


def test_fuzzy_merge_with_score_and_guards():
    res = resolve(_refs(("PERSON", "John Smith"), ("PERSON", "John Smith"), ("PERSON", "Jon Smith"),
                        ("COURT", "Eastern District of New York"), ("COURT", "Western District of New York"),
                        ("ORG", "Acme Holdings 12"), ("ORG", "Acme Holdings 13")), S, "m")
    assert _entity_of(res, "m002").name == "John Smith"
    fuzzy = [m for m in res.merges if m.method == "fuzzy"]
    assert [(m.alias, m.canonical) for m in fuzzy] == [("Jon Smith", "John Smith")]
    assert 90 <= fuzzy[0].score < 100
    assert len({res.assignments["m003"], res.assignments["m004"]}) == 2  # different districts
    assert len({res.assignments["m005"], res.assignments["m006"]}) == 2  # different numbers


def test_fuzzy_only_for_fuzzy_labels():
    res = resolve(_refs(("PERSON", "John Smith"), ("PERSON", "Jon Smith")),
                  ResolveSettings(fuzzy_labels=["ORG"]), "m")
    assert len(res.entities) == 2


def _m(id_, label, text, doc, normalized=None, link=None, method=None, scope=None, attrs=None):
    return MentionRef(id_, label, text, normalized, doc, link, method, scope, attrs)


def test_in_document_links_join_their_root_with_evidence():
    refs = [_m("a1", "ORG", "Ingram Micro", "A"),
            _m("a2", "ORG", "Distributor", "A", link="a1", method="defined_term",
               attrs={"evidence": 'Ingram Micro, a corporation ... ("Distributor")'}),
            _m("a3", "PERSON", "Herrmann", "A", link="a4", method="surname"),
            _m("a4", "PERSON", "Rudolf John Herrmann", "A")]
    res = resolve(refs, S, "m")
    ingram = _entity_of(res, "a2")
    assert ingram.name == "Ingram Micro" and ingram.mention_count == 2 and ingram.aliases == ["Distributor"]
    rec = next(r for r in res.merges if r.alias == "Distributor")
    assert rec.method == "defined_term" and "document A" in rec.evidence and "Distributor" in rec.evidence
    assert _entity_of(res, "a3").name == "Rudolf John Herrmann"


def test_a_defined_term_never_merges_across_documents_by_itself():
    refs = [_m("a1", "ORG", "Ingram Micro", "A"), _m("a2", "ORG", "Distributor", "A", link="a1", method="defined_term"),
            _m("b1", "ORG", "Acme Supply Corp.", "B"), _m("b2", "ORG", "Distributor", "B", link="b1", method="defined_term")]
    res = resolve(refs, S, "m")
    assert res.assignments["a2"] != res.assignments["b2"]
    assert _entity_of(res, "b2").name == "Acme Supply Corp."


def test_bare_surnames_of_different_documents_stay_apart():
    # no full name beside them: document scope, so "Miller" of A is not "Miller" of B nor "Gary Miller" of C
    refs = [_m("a1", "PERSON", "Miller", "A", scope="document"), _m("b1", "PERSON", "Miller", "B", scope="document"),
            _m("c1", "PERSON", "Gary Miller", "C")]
    res = resolve(refs, S, "m")
    assert len({res.assignments[x] for x in ("a1", "b1", "c1")}) == 3
    assert _entity_of(res, "a1").document_id == "A" and _entity_of(res, "c1").document_id is None


def test_no_acronym_or_surname_merge_across_documents():
    res = resolve(_refs(("ORG", "Oklahoma Water Resources Board"), ("ORG", "OWRB"), ("PERSON", "Rudolf John Herrmann"),
                        ("PERSON", "Herrmann")), S, "m")
    assert len(res.entities) == 4


def test_case_entity_is_the_case_parallel_citations_join_short_forms_link():
    roe = {"case_name": "Roe v. Wade", "parenthetical": "(1973)", "pin_cite": "120", "parallel": ["93 S. Ct. 705"]}
    refs = [_m("a1", "CASE", "Roe v. Wade, 410 U.S. 113, 120, 93 S. Ct. 705 (1973)", "A", "410 U.S. 113", attrs=roe),
            _m("a2", "CASE", "Id. at 125", "A", link="a1", method="id_cite"),
            _m("b1", "CASE", "93 S. Ct. 705", "B", "93 S. Ct. 705"),
            _m("c1", "CASE", "482 U. S. 124", "C", "482 U.S. 124")]
    res = resolve(refs, S, "m")
    case = _entity_of(res, "a1")
    assert case.name == "Roe v. Wade, 410 U.S. 113 (1973)"  # no pin cite
    assert res.assignments["a2"] == res.assignments["b1"] == case.id and case.mention_count == 3
    assert "93 S. Ct. 705" in case.aliases
    assert {(r.alias, r.method) for r in res.merges if r.entity_id == case.id} >= {("Id. at 125", "id_cite"),
                                                                                   ("93 S. Ct. 705", "parallel")}
    assert _entity_of(res, "c1").name == "482 U.S. 124"  # the corrected citation


def test_names_in_capitals_are_title_cased():
    res = resolve(_refs(("ORG", "TARRANT REGIONAL WATER DISTRICT"), ("PERSON", "RUDOLF JOHN HERRMANN"),
                        ("ORG", "CALVARY CHAPEL OF BANGOR"), ("ORG", "ACME LLC")), S, "m")
    assert sorted(e.name for e in res.entities) == ["Acme LLC", "Calvary Chapel of Bangor", "Rudolf John Herrmann",
                                                    "Tarrant Regional Water District"]


def test_labels_never_merge_across():
    res = resolve(_refs(("ORG", "Texas"), ("GPE", "Texas")), S, "m")
    assert len(res.entities) == 2


def test_deterministic_under_shuffle_and_stable_ids():
    items = [("PERSON", "Rudolf John Herrmann"), ("PERSON", "Herrmann"), ("PERSON", "John Smith"), ("PERSON", "Jon Smith"),
             ("ORG", "Acme Inc."), ("ORG", "ACME"), ("ORG", "Acme Corp"), ("DATE", "June 13, 2013"),
             ("DATE", "13 June 2013"), ("CASE", "410 U.S. 113", "410 U.S. 113"), ("GPE", "Oklahoma"),
             ("OTHER", "25 percent"), ("PERSON", "Jon Smith"), ("PERSON", "John Smith")]
    refs = _refs(*items)
    first = resolve(refs, S, "m")
    for seed in range(5):
        shuffled = refs[:]
        random.Random(seed).shuffle(shuffled)
        again = resolve(shuffled, S, "m")
        assert again.entities == first.entities
        assert again.assignments == first.assignments
        assert again.merges == first.merges
    assert set(first.assignments) == {r.id for r in refs}


def test_duplicate_mention_id_is_an_error():
    with pytest.raises(ValueError):
        resolve([MentionRef("a", "ORG", "Acme"), MentionRef("a", "ORG", "Acme")], S, "m")


def test_key_is_never_empty():
    assert mention_key("ORG", "...", None)
    assert mention_key("PERSON", "Mr.", None)


def test_200k_mentions_in_seconds():
    rng = random.Random(1)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9))) for _ in range(8000)]
    labels = ["PERSON", "ORG", "GPE", "DATE", "MONEY", "CASE", "LAW", "COURT", "OTHER"]
    names = {}
    for label in labels:
        pool = []
        for _ in range(3000):
            if label == "DATE":
                pool.append(f"June {rng.randint(1, 28)}, {rng.randint(1990, 2024)}")
            elif label == "MONEY":
                pool.append(f"${rng.randint(1, 100000):,}")
            elif label == "CASE":
                pool.append(f"{rng.randint(1, 600)} U.S. {rng.randint(1, 999)}")
            else:
                pool.append(f"{rng.choice(words).title()} {rng.choice(words).title()}")
        names[label] = pool
    refs = []
    for i in range(200_000):
        label = labels[i % len(labels)]
        text = names[label][rng.randrange(3000)]  # ~27,000 distinct entities
        refs.append(MentionRef(str(i), label, text, text if label == "CASE" else None))
    t = time.perf_counter()
    res = resolve(refs, S, "m")
    elapsed = time.perf_counter() - t
    assert len(res.assignments) == 200_000
    assert len(res.entities) > 20_000
    assert elapsed < 15, elapsed


def test_courts_merge_only_when_their_jurisdiction_agrees():
    res = resolve(_refs(("COURT", "Supreme Court of Missouri"), ("COURT", "Supreme Court of Mississippi"),
                        ("COURT", "United States District Court for the District of Arizona"),
                        ("COURT", "United States District Court for District of Arizona")), S, "m")
    names = sorted(e.name for e in res.entities)
    assert "Supreme Court of Missouri" in names and "Supreme Court of Mississippi" in names
    assert len(res.entities) == 3  # the two Arizona spellings are one court


def test_every_merge_says_why():
    res = resolve(_refs(("ORG", "Acme Widgets Inc."), ("ORG", "ACME WIDGETS, INC."), ("PERSON", "Jonathan Q. Public"),
                        ("PERSON", "Jonathon Q. Public")), S, "m")
    assert res.merges and all(m.evidence for m in res.merges)


def test_an_id_section_is_named_by_the_section_it_stands_for():
    res = resolve(_refs(("LAW", "Id. § 1292(a)(1)", "28 U.S.C. § 1292(a)(1)")), ResolveSettings(), "m")
    assert [e.name for e in res.entities] == ["28 U.S.C. § 1292(a)(1)"]
