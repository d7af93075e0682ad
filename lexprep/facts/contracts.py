"""Rules for contracts: parties (name, role as its defined term, entity), agreement, effective and
expiration dates, term, renewal term, governing law and notice addresses.

Patterns (over the cleaned text, language only, never values of particular contracts):

- **Parties**: the preamble's definitions, ``<name>, a Delaware corporation ("Distributor")``,
  ``<name> (hereinafter referred to as "TPC")``, after "by and between" / "between" / "among" / "and"
  / "with" (or at the start of a line), before the recitals ("WHEREAS", "WITNESSETH", "NOW,
  THEREFORE", "agree as follows"). The name ends where its description starts (", a ...", "having
  its principal office", "organized under"); a defined term that names the agreement itself, a date
  or a thing ("Agreement", "Effective Date", "Products") is no party.
- **Agreement date**: a date in the preamble sentence ("entered into this 6th day of April, 1999"),
  else a ``Date:`` line before it, else the latest ``Date:`` / ``Dated:`` of the signature blocks.
- **Effective date**: "Effective Date: X", "effective (as of) X", "(the "Effective Date")" after a date,
  "shall commence on X", "commencing X"; "commencing on the date first above written" takes the
  agreement date.
- **Expiration date**: "through X", "concluding X", "expire(s) on X", "until X", "ending on X" in a
  sentence about the term; else the effective date plus the term ("shall continue for a period of six
  (6) months", "for a term of one year", "in effect for one year from the Effective Date"), marked
  ``attrs["computed"]``.
- **Term / renewal term**: the initial term's duration; "renew(ed) for (successive) one (1) year
  periods" (ISO 8601 durations in ``normalized``).
- **Governing law**: "governed by (and construed in accordance with) the (internal) laws of the State
  of X" (never "organized under the laws of"), normalised to the jurisdiction ("Texas"), with a GPE
  entity.
- **Notice address**: a street address (number, street, city, state, ZIP) within the notices clause,
  with the party it is for when "To <party>" / "If to <party>" precedes it.
"""

from __future__ import annotations

import re

from lexprep.facts._common import (
    DURATION,
    US_STATES,
    add_duration,
    clean_name,
    duration_iso,
    entity_mention,
    normalize_jurisdiction,
    party_label,
    span_fact,
    strip_span,
)
from lexprep.facts.dates import find_dates
from lexprep.models import Fact, Mention

__all__ = ["extract", "parties", "preamble_end"]

#: how far into the document the preamble may start (characters)
PREAMBLE_LIMIT = 8_000
_RECITALS = re.compile(r"(?:\bWHEREAS\b|\bW\s?I\s?T\s?N\s?E\s?S\s?S\s?E\s?T\s?H\b|\bRECITALS\b|\bNOW,?\s+THEREFORE\b|"
                       r"(?i:\bagree(?:s)?\s+(?:as\s+follows|that)\b)|(?i:\bin\s+consideration\s+of\b)|\bBACKGROUND\b)")
_DEF = re.compile(
    r"\(\s*(?:(?:hereinafter|herein|individually|collectively)[\s,]+(?:(?:referred\s+to\s+as|called)\s+)?"
    r"|(?-i:[a-z][a-z ]{2,40}),\s*)?"
    r"(?:the\s+|a\s+|an\s+)?[\"“”]\s*(?P<term>[^\"“”()]{1,60}?)\s*[\"“”]\s*\)"
    r"|\(?\s*(?:hereinafter|herein)(?:\s+(?:referred\s+to\s+as|called))?\s+(?:the\s+)?[\"“”](?P<term2>[^\"“”()]{1,60}?)[\"“”]\s*\)?",
)
_SEPARATOR = re.compile(r"(?i)(?:\bby\s+and\s+(?:between|among)\b|\bbetween\b|\bamong\b|\band\b|\bwith\b|;)\s*")
_DESCRIPTION = re.compile(
    r"(?i),?\s+(?:a|an)\s+(?=[\w-]+)|,?\s+(?:having|located|organized|organised|incorporated|existing|with\s+(?:its|a|an)"
    r"|whose|residing|doing\s+business|acting|its\s+principal|a\s+division)\b|,\s+(?=\d)|,\s+as\s+(?=[a-z])"
    r"|\s+(?:dba|d/b/a|f/k/a)\b|\s*\(\s*(?:hereinafter|the\s+[\"“”])"
)
#: a corporate suffix ends a name ("Consolidated Artists Inc., Sommerville House, ..." -> "Consolidated Artists Inc.")
_SUFFIX_END = re.compile(r"(?i)\b(?:inc|incorporated|corp|corporation|company|co(?=\.)|llc|l\.l\.c|l\.p|llp|ltd|limited|plc|"
                         r"n\.a|s\.a|gmbh)\b\.?")
#: a sentence's end between two definitions ("... (the "Sponsor"). Racing organized ...")
_PREAMBLE_SENTENCE_END = re.compile(r"(?:[a-z]{2}|[)\"”’])(?<!Inc)(?<!Corp)(?<!Ltd)(?<!\bCo)\.(?:[ \t]*\n|[ \t]+(?=[A-Z][a-z]))")
_SENTENCE_END = re.compile(r"[a-z]{2,}\.[ \t]*\n")
_STOP_FIRST = frozenset("its his her their the a an such said this that which whose each any all".split())
_SUFFIX_AFTER_COMMA = re.compile(r"(?i),\s*(?:inc|incorporated|corp|corporation|co|llc|l\.l\.c|lp|l\.p|llp|ltd|limited|plc|"
                                 r"n\.a|s\.a|gmbh|ag)\b\.?")
#: defined terms that name the agreement, a date, a thing or a place: never a party
_NOT_PARTY = re.compile(
    r"(?i)^(?:this\s+)?(?:agreement|contract|amendment|effective\s+date|commencement\s+date|closing\s+date|term|"
    r"territory|products?|services?|commodities|software|property|premises|confidential\s+information|exhibit|"
    r"schedule|plan|program|business|trademarks?|marks?|licensed\s+\w+|work|project|parties|party)$"
    r"|\b(?:agreement|date|products?)$"
)
_DATE_LABEL = re.compile(r"(?im)(?<![A-Za-z] )(?<!Effective )(?<!Expiration )(?<!Termination )\b(?:Date|Dated)\s*:?[ \t]*(?=\S)")
#: a date labelled as another date of the contract ("Effective Date: March 1, 1996") is not the agreement date
_LABELLED_OTHER = re.compile(r"(?i)\b(?:effective|expiration|termination|commencement|renewal)\s+date\s*:?\s*$")
_EFFECTIVE = re.compile(
    r"(?i)\beffective\s+date\s*:|\beffective\s+(?:as\s+of\s+)?(?=(?:the\s+)?\w)|\bshall\s+(?:commence|begin|start)\s+"
    r"(?:on|upon|as\s+of)?|\bcommenc(?:e|es|ing)\s+(?:on|upon|as\s+of)?|\bbegin(?:ning|s)?\s+on\b"
    r"|\bterm\b[^.;]{0,60}?\bfrom\s+"
)
_AS_OF_EFFECTIVE = re.compile(r"(?i)\b(?:made|entered\s+into|executed|dated)\s+(?:and\s+\w+\s+)?(?:into\s+)?as\s+of\s+the\s+"
                              r"Effective\s+Date\b")
_FIRST_WRITTEN = re.compile(r"(?i)\b(?:commenc\w*|effective|begin\w*)\s+(?:on|as\s+of|from)?\s*the\s+date\s+first\s+"
                            r"(?:above\s+written|written\s+above|set\s+forth\s+above|above\s+set\s+forth|hereinabove\s+written)")
_EXPIRES = re.compile(r"(?i)\b(?:extend(?:s|ing)?\s+through|through\s+and\s+including|through|concluding(?:\s+on)?|"
                      r"expir(?:e|es|ing)\s+on|until|ending\s+on|end\s+on|terminat(?:e|es|ing)\s+on)\s+")
#: "The term of this Agreement shall be from July 1, 2010 to June 30, 2011"
_FROM_TO = re.compile(r"(?i)\b(?:be\s+|run\s+|commenc\w*\s+|begin\w*\s+)?(?P<f>from\s+)")
_TERM_SENTENCE = re.compile(r"(?i)\bterm\b|\bin\s+effect\b|\bshall\s+continue\b|\bcommenc")
_TERM_LENGTH = re.compile(
    r"(?i)(?:continue\s+(?:in\s+(?:full\s+)?(?:force|effect)\s+)?for\s+(?:a\s+(?:period|term)\s+of\s+)?|"
    r"(?:for\s+)?(?:a|an|the|its|initial)\s+(?:initial\s+)?(?:term|period)\s+of\s+|in\s+effect\s+for\s+|remain\s+in\s+"
    r"(?:full\s+)?(?:force\s+and\s+)?effect\s+for\s+|term\s*:\s*)"
)
_RENEW = re.compile(r"(?i)\brenew(?:ed|al|s)?\b[^.;]{0,80}?\bfor\s+(?:(?:an?\s+)?additional\s+|successive\s+|"
                    r"one\s+\(1\)\s+or\s+more\s+|(?:one|1)\s+or\s+more\s+|further\s+)?")
_GOVERNING = re.compile(
    r"(?i)\b(?:governed|construed|interpreted|enforced)\b[^.;]{0,160}?\blaws?\b(?:\s+and\s+judicial\s+decisions)?\s+of\s+"
    r"(?P<j>(?:the\s+)?(?:State|Commonwealth|Province|Republic|Kingdom|Federal\s+Republic)\s+of\s+(?-i:[A-Z][a-z]+|[A-Z]{2,})"
    r"(?:\s+(?-i:[A-Z][a-z]+|[A-Z]{2,}))?|(?-i:England(?:\s+and\s+Wales)?|ENGLAND(?:\s+AND\s+WALES)?"
    r"|[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?))"
)
#: "governed by French law", "construed in accordance with English law"
_GOVERNING_ADJ = re.compile(
    r"(?i)\b(?:governed|construed|interpreted)\b[^.;]{0,80}?\b(?-i:(?P<adj>English|French|German|Swiss|Dutch|Irish|"
    r"Scottish|Italian|Spanish|Belgian|Luxembourg|Swedish|Danish|Norwegian|Finnish|Austrian|Japanese|Chinese|Singapore|"
    r"Hong\s+Kong|Canadian|Australian|Indian|Israeli|Brazilian|Mexican|Delaware|New\s+York|California|Texas|Florida|"
    r"Massachusetts|Illinois|Virginia))\s+law\b"
)
_ADJ_JURISDICTION = {"english": "England and Wales", "french": "France", "german": "Germany", "swiss": "Switzerland",
                     "dutch": "Netherlands", "irish": "Ireland", "scottish": "Scotland", "italian": "Italy",
                     "spanish": "Spain", "belgian": "Belgium", "swedish": "Sweden", "danish": "Denmark",
                     "norwegian": "Norway", "finnish": "Finland", "austrian": "Austria", "japanese": "Japan",
                     "chinese": "China", "canadian": "Canada", "australian": "Australia", "indian": "India",
                     "israeli": "Israel", "brazilian": "Brazil", "mexican": "Mexico"}
#: what may open a party's entry after "BETWEEN": a colon, a list marker ("(1)", "(a)", "1.")
_LEAD = re.compile(r"[\s:]*(?:(?:\(\s*(?:\d{1,2}|[a-z]|[ivx]{1,4})\s*\)|\d{1,2}\.)[ \t]+)?")
_NOT_GOVERNING = re.compile(r"(?i)\b(?:organized|organised|incorporated|existing|formed)\s+(?:and\s+existing\s+)?under\s*$")
_ADDRESS = re.compile(
    r"(?:\b\d{1,6}[ \t]+(?:[NSEW]\.?[ \t]+)?[A-Z0-9][\w.'’ \t-]{1,40}?[ \t](?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|"
    r"Boulevard|Blvd\.?|Parkway|Pkwy\.?|Drive|Dr\.?|Lane|Ln\.?|Way|Place|Pl\.?|Court|Ct\.?|Plaza|Circle|Highway|Hwy\.?)"
    r"|\bP\.?\s?O\.?\s+Box\s+\d+)"
    r"[\s\S]{0,80}?\b[A-Z][A-Za-z .]+,?\s+(?:[A-Z]{2}|[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)\s+\d{5}(?:-\d{4})?\b"
)
_STREET = re.compile(r"\b\d{1,6}[ \t]+(?:[NSEW]\.?[ \t]+)?[A-Z0-9][\w.'’ \t-]{1,40}?[ \t](?:Street|St\.?|Avenue|Ave\.?|"
                     r"Road|Rd\.?|Boulevard|Blvd\.?|Parkway|Pkwy\.?|Drive|Dr\.?|Lane|Ln\.?|Way|Place|Pl\.?|PL\.?)\b", re.I)
_NOTICES = re.compile(r"(?i)\bnotices?\b")
_TO_PARTY = re.compile(r"(?i)\b(?:if\s+)?to\s+(?:the\s+)?(?P<p>[A-Z][\w&.\- ]{1,40}?)\s*:")


def preamble_end(text: str) -> int:
    """Where the preamble ends: the recitals or the operative clauses, else :data:`PREAMBLE_LIMIT`."""
    limit = min(len(text), PREAMBLE_LIMIT)
    m = _RECITALS.search(text, 0, limit)
    return m.start() if m else limit


def _sentence_bounds(text: str, pos: int, lo: int = 0, hi: int | None = None) -> tuple[int, int]:
    hi = len(text) if hi is None else hi
    start = pos
    while start > lo and not (text[start - 1] in ".;" and (start >= len(text) or text[start].isspace())
                              and not re.search(r"(?:\b[A-Z]|Inc|Corp|Co|Ltd|No|L\.P)\.$", text[max(lo, start - 5):start])):
        start -= 1
    end = pos
    while end < hi and not (text[end] in ".;" and (end + 1 >= len(text) or text[end + 1].isspace())
                            and not re.search(r"(?:\b[A-Z]|Inc|Corp|Co|Ltd|No|L\.P)$", text[max(lo, end - 4):end])):
        end += 1
    return start, min(end + 1, hi)


def _name_end(text: str, start: int, limit: int) -> int:
    """Where a party's name starting at ``start`` ends: after its corporate suffix, or where its
    description starts, else at ``limit`` (the definition)."""
    end = limit
    d = _DESCRIPTION.search(text, start, limit)
    pos = start
    while d is not None and d.group(0).startswith(",") and _SUFFIX_AFTER_COMMA.match(text, d.start()):
        pos = _SUFFIX_AFTER_COMMA.match(text, d.start()).end()
        d = _DESCRIPTION.search(text, pos, limit)
    if d is not None:
        end = d.start()
    sfx = _SUFFIX_END.search(text, start, end)
    if sfx is not None:
        nxt = _SUFFIX_AFTER_COMMA.match(text, sfx.end())
        end = nxt.end() if nxt else sfx.end()
    return end


def _name_ok(name: str, separator: str) -> bool:
    words = name.split()
    if not words or len(words) > 10 or ":" in name or len(name) > 120:
        return False
    if words[0].lower().strip(",.") in _STOP_FIRST:
        return False
    if not re.search(r"[A-Za-z]", words[0]):
        return False
    if not re.match(r"[A-Z0-9]", words[0]) and not (separator.strip().lower() in ("and", "between", "by and between")
                                                   and len(words) <= 4 and re.search(r"[-A-Z]", words[0])):
        return False
    return not re.search(r"\d{5}|\bP\.?\s?O\.?\s+Box\b", name, re.I)


def parties(text: str, mentions: list[Mention], added: list[Mention]) -> list[Fact]:
    """Party facts from the preamble's definitions (see the module docstring)."""
    end = preamble_end(text)
    facts: list[Fact] = []
    prev = 0
    last_party_end: int | None = None
    for dm in _DEF.finditer(text, 0, end):
        term = (dm.group("term") or dm.group("term2") or "").strip()
        seg_start = max(prev, dm.start() - 500)
        prev = dm.end()
        bare = re.sub(r"(?i)^the\s+", "", term)
        if not term or _NOT_PARTY.search(bare) or not (re.match(r"[A-Z]", bare) or " " not in bare):
            continue
        segment = text[seg_start:dm.start()]
        if last_party_end is not None and (dm.start() - last_party_end > 900
                                           or _PREAMBLE_SENTENCE_END.search(text, last_party_end - 2, dm.start())):
            break  # the parties are defined together, in one sentence; a later definition is a clause's
        found = None
        for sp in reversed(list(_SEPARATOR.finditer(segment))):
            ns = seg_start + sp.end()
            lead = _LEAD.match(text, ns, dm.start())
            ns = lead.end() if lead else ns
            ne = _name_end(text, ns, dm.start())
            if _name_ok(text[ns:ne], sp.group(0)) and not _SENTENCE_END.search(text, ns, dm.start()):
                found = (ns, ne)
                break
        if found is None:
            ne = _name_end(text, seg_start, dm.start())
            covering = [m for m in mentions if m.label in ("ORG", "PERSON") and ne - 3 <= m.doc_end <= ne
                        and m.doc_start >= seg_start]
            if covering:
                found = (min(m.doc_start for m in covering), ne)
            else:
                starts = [m.end() for m in re.finditer(r"\n", text[seg_start:dm.start()])]
                if seg_start == 0 or text[seg_start - 1] == "\n":
                    starts.insert(0, 0)  # the segment starts a line (the document's first line)
                for off in reversed(starts):
                    ls = seg_start + off
                    le = _name_end(text, ls, dm.start())
                    if le < dm.start() and _name_ok(text[ls:le], ""):
                        found = (ls, le)
                        break
        if found is None:
            continue
        name_start, name_end = found
        s, e = strip_span(text, name_start, name_end)
        if e > s and text[e - 1] == "." and not re.search(r"(?i)(?:inc|corp|co|ltd|l\.p|n\.a|s\.a)\.$|\b[A-Z]\.$", text[s:e]):
            e -= 1
        name = clean_name(text[s:e])
        if not name or len(name) > 120 or not re.search(r"[A-Za-z]{2}", name) or len(name.split()) > 12:
            continue
        if name.split()[0].lower() in ("this", "the", "such", "each", "said") and not re.search(r"[A-Z]{2}", name):
            continue
        ent = entity_mention(text, s, e, party_label(text, s, e), mentions, added)
        evidence_end = dm.end()
        last_party_end = dm.end()
        term = re.sub(r"(?i)^the\s+", "", " ".join(term.split()))
        facts.append(span_fact(text, "party", s, evidence_end, value=name, normalized=None, role=term,
                               entity_span=ent, attrs={"defined_term": term}))
    return facts


def agreement_date(text: str, party_facts: list[Fact]) -> Fact | None:
    end = preamble_end(text)
    anchor = re.search(r"(?i)\b(?:by\s+and\s+)?between\b|\bamong\b|\bmade\s+and\s+entered\b|\bentered\s+into\b|"
                       r"\bdated\b|\bmade\s+(?:as\s+of|on|this)\b", text[:end])
    if party_facts or anchor:
        pos = party_facts[0].evidence_start if party_facts else anchor.start()
        s, e = _sentence_bounds(text, pos, 0, end)
        found = [d for d in find_dates(text, s, e) if not _LABELLED_OTHER.search(text, max(0, d.start - 30), d.start)]
        if found:
            d = found[0]
            return span_fact(text, "agreement_date", d.start, d.end, normalized=d.iso)
    labels = [m for m in _DATE_LABEL.finditer(text)]
    dated = []
    for lm in labels:
        found = find_dates(text, lm.end(), min(len(text), lm.end() + 40))
        if found and found[0].start == lm.end():
            dated.append(found[0])
    if not dated:
        return None
    before = [d for d in dated if d.start < end]
    pick = before[0] if before else max(dated, key=lambda d: d.iso)
    return span_fact(text, "agreement_date", pick.start, pick.end, normalized=pick.iso,
                     attrs=None if before else {"source": "signature"})


def effective_date(text: str, agreement: Fact | None) -> Fact | None:
    m = re.search(r"(?i)\beffective\s+date\s*:\s*", text)
    if m:
        found = find_dates(text, m.end(), min(len(text), m.end() + 40))
        if found and found[0].start == m.end():
            d = found[0]
            return span_fact(text, "effective_date", d.start, d.end, normalized=d.iso)
    m = re.search(r"(?i)[\"“”]Effective\s+Date[\"“”]\s+(?:shall\s+)?means?\s+(?:the\s+date\s+of\s+)?", text)
    if m:  # "Effective Date" means March 3, 2015
        found = find_dates(text, m.end(), min(len(text), m.end() + 40))
        if found and found[0].start == m.end():
            d = found[0]
            return span_fact(text, "effective_date", d.start, d.end, normalized=d.iso)
    m = re.search(r"(?i)\(\s*(?:the\s+|this\s+)?[\"“”]Effective\s+Date[\"“”]\s*\)", text)
    if m:
        found = [d for d in find_dates(text, max(0, m.start() - 200), m.start())]
        if found:
            d = found[-1]
            return span_fact(text, "effective_date", d.start, d.end, normalized=d.iso)
    for m in _EFFECTIVE.finditer(text):
        found = find_dates(text, m.end(), min(len(text), m.end() + 60))
        if found and found[0].start - m.end() <= 12:
            d = found[0]
            return span_fact(text, "effective_date", d.start, d.end, normalized=d.iso)
    m = _FIRST_WRITTEN.search(text)
    if m and agreement is not None:
        return span_fact(text, "effective_date", m.start(), m.end(), value=agreement.value,
                         normalized=agreement.normalized, attrs={"refers_to": "agreement_date"})
    return None


def term_facts(text: str, effective: Fact | None) -> list[Fact]:
    """Expiration date, term and renewal term (see the module docstring)."""
    facts: list[Fact] = []
    expiration = None
    term = None
    for m in _EXPIRES.finditer(text):
        s, e = _sentence_bounds(text, m.start())
        if not re.search(r"(?i)\bterm\b|\bagreement\b|\bcontract\b", text[s:e]):
            continue
        # "through"/"until" need a sentence about the term; "This Agreement shall expire on X" says it itself
        if not _TERM_SENTENCE.search(text[s:e]) and not re.match(r"(?i)expir|terminat|end", m.group(0)):
            continue
        if re.search(r"(?i)\b(?:warrant|confidential|non-?compet|survive|license|lease\s+of)\w*", text[s:m.start()]):
            continue  # another period's end
        found = find_dates(text, m.end(), min(len(text), m.end() + 40))
        if found and found[0].start - m.end() <= 4:
            d = found[0]
            if effective is not None and effective.normalized and d.iso <= effective.normalized:
                continue
            expiration = span_fact(text, "expiration_date", d.start, d.end, normalized=d.iso)
            break
    if expiration is None:
        for m in _FROM_TO.finditer(text):
            s, e = _sentence_bounds(text, m.start())
            if not re.search(r"(?i)\bterm\b|\bagreement\b|\bcontract\b", text[s:e]):
                continue
            start_d = find_dates(text, m.end("f"), min(len(text), m.end("f") + 40))
            if not start_d or start_d[0].start != m.end("f"):
                continue
            end_m = re.match(r"\s+(?:to|through|until|and\s+ending\s+on)\s+(?:and\s+including\s+)?", text[start_d[0].end:])
            if not end_m:
                continue
            at = start_d[0].end + end_m.end()
            end_d = find_dates(text, at, min(len(text), at + 40))
            if end_d and end_d[0].start == at and end_d[0].iso > start_d[0].iso:
                expiration = span_fact(text, "expiration_date", end_d[0].start, end_d[0].end, normalized=end_d[0].iso)
                break
    for m in _TERM_LENGTH.finditer(text):
        s, e = _sentence_bounds(text, m.start())
        if not re.search(r"(?i)\bterm\b|\bagreement\b|\bcontract\b|\beffect\b", text[s:e]):
            continue
        if re.search(r"(?i)\b(?:warrant|confidential|non-?compet|survive|payment|invoice|notice)", text[s:m.start()]):
            continue
        dm = DURATION.match(text, m.end())
        if dm is None:
            continue
        iso = duration_iso(dm)
        if iso is None:
            continue
        term = span_fact(text, "term", dm.start(), dm.end(), normalized=iso)
        facts.append(term)
        break
    if expiration is None and term is not None and effective is not None and effective.normalized:
        end_iso = add_duration(effective.normalized, term.normalized)
        if end_iso:
            s, e = _sentence_bounds(text, term.evidence_start)
            # the clause around the term, not a whole header the sentence finder took for one sentence
            s, e = max(s, term.evidence_start - 200), min(e, term.evidence_end + 120)
            s, e = strip_span(text, s, e, " \t\r\n")
            expiration = span_fact(text, "expiration_date", s, e, value=f"{term.value} from {effective.value}",
                                   normalized=end_iso, confidence=0.8,
                                   attrs={"computed": True, "term": term.normalized, "from": effective.normalized})
    if expiration is not None:
        facts.append(expiration)
    for m in _RENEW.finditer(text):
        dm = DURATION.search(text, m.end(), min(len(text), m.end() + 40))
        if dm is None:
            continue
        iso = duration_iso(dm)
        if iso:
            s, e = _sentence_bounds(text, m.start())
            s, e = strip_span(text, s, e, " \t\r\n")
            facts.append(span_fact(text, "renewal_term", s, e, value=" ".join(text[dm.start():dm.end()].split()),
                                   normalized=iso, attrs={"automatic": bool(re.search(r"(?i)automatic", text[s:e]))}))
            break
    return facts


def governing_law(text: str, mentions: list[Mention], added: list[Mention]) -> Fact | None:
    for m in _GOVERNING.finditer(text):
        if _NOT_GOVERNING.search(text[max(0, m.start() - 40):m.start()]):
            continue
        if not re.search(r"(?i)govern|constru|interpret|enforc", text[m.start():m.start("j")]):
            continue
        js, je = m.start("j"), m.end("j")
        value = " ".join(text[js:je].split())
        normalized = normalize_jurisdiction(value)
        words = normalized.split()
        if len(words) == 2 and normalized not in US_STATES and normalize_jurisdiction(words[0]) in US_STATES:
            # "THE STATE OF TEXAS WITHOUT ...": the name is one word
            je = js + text[js:je].rstrip().rfind(text[js:je].split()[-1]) - 1
            je = len(text[:je].rstrip())
            value = " ".join(text[js:je].split())
            normalized = normalize_jurisdiction(value)
        if normalized.lower() in ("such", "any", "the", "other", "another"):
            continue
        # the entity is the jurisdiction's own name ("Texas" in "the State of Texas")
        name_start = je - len(normalized) if text[js:je].endswith(normalized) else js
        ent = entity_mention(text, name_start, je, "GPE", mentions, added, labels=("GPE", "ORG", "LAW"))
        s, e = _sentence_bounds(text, m.start())
        s, e = strip_span(text, s, e, " \t\r\n")
        return span_fact(text, "governing_law", js, je, value=value, normalized=normalized, entity_span=ent,
                         attrs={"clause": " ".join(text[s:e].split())[:400]})
    m = _GOVERNING_ADJ.search(text)
    if m:
        js, je = m.start("adj"), m.end("adj")
        adj = " ".join(m.group("adj").split())
        normalized = _ADJ_JURISDICTION.get(adj.lower(), normalize_jurisdiction(adj))
        s, e = _sentence_bounds(text, m.start())
        s, e = strip_span(text, s, e, " \t\r\n")
        return span_fact(text, "governing_law", js, m.end(), value=f"{adj} law", normalized=normalized,
                         attrs={"clause": " ".join(text[s:e].split())[:400]})
    return None


def notice_addresses(text: str, party_facts: list[Fact]) -> list[Fact]:
    facts = []
    seen: set[int] = set()
    terms = {(f.role or "").lower(): f for f in party_facts if f.role}
    for n in _NOTICES.finditer(text):
        window_end = min(len(text), n.end() + 1500)
        for a in _ADDRESS.finditer(text, n.end(), window_end):
            if a.start() in seen:
                continue
            seen.add(a.start())
            if len(_STREET.findall(a.group(0))) > 1 or len(re.findall(r"(?i)\bP\.?\s?O\.?\s+Box\b", a.group(0))) > 1:
                continue  # two columns read across ("To Distributor: To NETGEAR:"): two addresses run together
            role = None
            to = list(_TO_PARTY.finditer(text, max(n.end(), a.start() - 200), a.start()))
            if to:
                who = to[-1].group("p").strip().lower()
                role = terms[who].role if who in terms else to[-1].group("p").strip()
            facts.append(span_fact(text, "notice_address", a.start(), a.end(), normalized=" ".join(a.group(0).split()),
                                   role=role))
        if len(facts) >= 4:
            break
    return facts


def extract(text: str, mentions: list[Mention]) -> tuple[list[Fact], list[Mention]]:
    """Every contract fact of ``text`` (unverified) and the mentions added for party and jurisdiction
    names no mention covered."""
    added: list[Mention] = []
    facts: list[Fact] = []
    party_facts = parties(text, mentions, added)
    facts.extend(party_facts)
    agreement = agreement_date(text, party_facts)
    if agreement:
        facts.append(agreement)
    effective = effective_date(text, agreement)
    if effective:
        facts.append(effective)
        as_of = _AS_OF_EFFECTIVE.search(text, 0, preamble_end(text))
        if agreement is None and as_of:  # "entered into as of the Effective Date": the agreement's date is it
            facts.append(span_fact(text, "agreement_date", as_of.start(), as_of.end(), value=effective.value,
                                   normalized=effective.normalized, attrs={"refers_to": "effective_date"}))
    facts.extend(term_facts(text, effective))
    law = governing_law(text, mentions, added)
    if law:
        facts.append(law)
    facts.extend(notice_addresses(text, party_facts))
    for f in facts:
        f.extractor = "rules"
    return facts, added
