"""Helpers shared by the rule extractors: spans, labels, jurisdictions, durations."""

from __future__ import annotations

import functools
import re

from lexprep.models import Fact, Mention

US_STATES = (
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware", "Florida",
    "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine",
    "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada",
    "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio", "Oklahoma",
    "Oregon", "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota", "Tennessee", "Texas", "Utah",
    "Vermont", "Virginia", "Washington", "West Virginia", "Wisconsin", "Wyoming", "District of Columbia",
    "Puerto Rico",
)
_STATES_LOWER = {s.lower(): s for s in US_STATES}

ORG_HINT = re.compile(
    r"(?i)\b(?:inc|incorporated|corp|corporation|company|co|llc|l\.l\.c|lp|l\.p|llp|ltd|limited|plc|gmbh|ag|s\.a|"
    r"n\.a|bank|trust|group|partners|partnership|holdings|association|foundation|university|department|agency|"
    r"authority|district|consultants|international|interactive|enterprises|industries|technologies|systems|"
    r"services|church|chapel|society|fund|council|board|commission|office)\b\.?"
)

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "eighteen": 18, "twenty": 20, "twenty-four": 24, "thirty": 30,
    "thirty-six": 36, "forty-five": 45, "sixty": 60, "ninety": 90, "a": 1, "an": 1,
}
#: "six (6) months", "one year", "3 years", "thirty (30) days"
DURATION = re.compile(
    r"(?i)\b(?P<n>(?:twenty|thirty|forty|fifty|sixty|ninety)-\w+|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|fifteen|eighteen|twenty|thirty|sixty|ninety|an?|\d{1,3})(?:\s*\(\s*(?P<d>\d{1,3})\s*\))?"
    r"[\s-]+(?:calendar\s+|consecutive\s+|full\s+)?(?P<u>year|month|week|day)s?\b"
)


def duration_iso(match: re.Match) -> str | None:
    """ISO 8601 duration ("P6M", "P1Y", "P30D") of a :data:`DURATION` match, or None."""
    n = match.group("d") or match.group("n")
    try:
        count = int(n)
    except ValueError:
        count = _NUMBER_WORDS.get(n.lower())
    if not count:
        return None
    unit = match.group("u").lower()
    return f"P{count * 7}D" if unit == "week" else f"P{count}{unit[0].upper()}"


def add_duration(iso_date: str, duration: str) -> str | None:
    """``iso_date`` plus an ISO duration of years, months or days (month ends clamp: Jan 31 + P1M = Feb 28)."""
    import calendar
    import datetime as dt

    m = re.fullmatch(r"P(\d+)([YMD])", duration or "")
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2)
    d = dt.date.fromisoformat(iso_date)
    if unit == "D":
        return (d + dt.timedelta(days=n)).isoformat()
    months = n * 12 if unit == "Y" else n
    y, mo = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, mo + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1])).isoformat()


def normalize_jurisdiction(value: str) -> str:
    """"the State of New York" -> "New York"; "Commonwealth of Virginia" -> "Virginia"; "England and Wales"
    unchanged; white space collapsed."""
    v = " ".join(value.split()).strip(" ,.;")
    v = re.sub(r"(?i)^(?:the\s+)?(?:state|commonwealth|province|republic|kingdom|federal\s+republic)\s+of\s+", "", v)
    v = re.sub(r"(?i)^the\s+", "", v)
    if v.lower() in _STATES_LOWER:
        return _STATES_LOWER[v.lower()]
    if v.isupper():  # "ENGLAND AND WALES" -> "England and Wales"
        v = " ".join(w.lower() if w in ("AND", "OF", "THE") else w.capitalize() for w in v.split())
    return v


def clean_name(value: str) -> str:
    """White space collapsed, quotes and trailing punctuation (but not an abbreviation's period) removed."""
    v = " ".join(value.split()).strip(" ,;:\"“”'")
    if v.endswith(".") and not re.search(r"(?i)\b(?:inc|corp|co|ltd|l\.p|n\.a|s\.a|jr|sr)\.$|\b[A-Za-z]\.$", v):
        v = v[:-1]
    return v


def span_fact(text: str, kind: str, start: int, end: int, *, value: str | None = None, normalized: str | None = None,
              role: str | None = None, entity_span: tuple[int, int] | None = None, confidence: float = 1.0,
              attrs: dict | None = None) -> Fact:
    """A text-evidence Fact over ``text[start:end]`` (value defaults to the evidence, white space collapsed)."""
    evidence = text[start:end]
    return Fact(kind=kind, value=value if value is not None else " ".join(evidence.split()), normalized=normalized,
                evidence_start=start, evidence_end=end, evidence_text=evidence, role=role, entity_span=entity_span,
                confidence=confidence, attrs=attrs or None)


def strip_span(text: str, start: int, end: int, chars: str = " \t\r\n,;:\"“”'()") -> tuple[int, int]:
    """``(start, end)`` narrowed past leading and trailing ``chars``."""
    while start < end and text[start] in chars:
        start += 1
    while end > start and text[end - 1] in chars:
        end -= 1
    return start, end


def entity_mention(text: str, start: int, end: int, label: str, mentions: list[Mention], added: list[Mention],
                   labels: tuple[str, ...] = ("PERSON", "ORG", "GPE", "COURT")) -> tuple[int, int] | None:
    """The span of the mention naming ``text[start:end]``: an existing mention of ``labels`` with that
    exact span, else one lying inside it and covering most of it, else the existing mention overlapping it
    most (mentions never overlap: None when that one is of another label), else a new mention (appended to
    ``added``, extractor ``facts``). None for an empty span."""
    if end <= start:
        return None
    for m in list(mentions) + list(added):
        if m.doc_start == start and m.doc_end == end:
            return (m.doc_start, m.doc_end)
    inside = [m for m in mentions if m.label in labels and m.doc_start >= start and m.doc_end <= end
              and (m.doc_end - m.doc_start) >= 0.6 * (end - start)]
    if inside:
        best = max(inside, key=lambda m: m.doc_end - m.doc_start)
        return (best.doc_start, best.doc_end)
    # one mention per span: a mention that overlaps it ("State of Texas" around "Texas", "J. JOHNSON" inside
    # "RICHARD J. JOHNSON") names it rather than a second, overlapping one
    over = [m for m in mentions if m.doc_start < end and start < m.doc_end]
    if over:
        named = [m for m in over if m.label in labels] or over
        best = max(named, key=lambda m: (min(end, m.doc_end) - max(start, m.doc_start), m.doc_end - m.doc_start))
        return (best.doc_start, best.doc_end) if best.label in labels else None
    if any(m.doc_start < end and start < m.doc_end for m in added):
        return None
    # a bare surname ("Howard, Chief Judge") names someone in this document only: never merged across the matter
    one_word = len(text[start:end].split()) == 1 and label in ("PERSON", "ORG")
    added.append(Mention(chunk_index=0, label=label, text=text[start:end], start=0, end=0, doc_start=start,
                         doc_end=end, score=1.0, extractor="facts", source_label="fact",
                         scope="document" if one_word else "matter"))
    return (start, end)


def party_label(text: str, start: int, end: int) -> str:
    """The entity label of the party named by ``text[start:end]``: the entity layer's own reading of a party
    (lexprep.ner.document.party_label)."""
    from lexprep.ner.document import party_label as ner_party_label

    return ner_party_label(" ".join(text[start:end].split()), _doc_context(text), start)


@functools.lru_cache(maxsize=4)
def _doc_context(text: str):
    """One DocContext per document text (its lower-case word set is read once)."""
    from lexprep.ner.filters import DocContext

    return DocContext(text)
