"""Rule-based mentions: COURT names, DOCKET numbers and a few statute forms eyecite does not parse.

All patterns are compiled once at import; one ``rule_spans`` call over a 2,000-character chunk costs
a few tens of microseconds. Matching is case-insensitive (captions are often in capitals) but a
COURT match must be written as a name (its key words capitalised, or the whole match in capitals),
so that "the district court erred" is not a mention while "the District Court erred" is.

Returned spans are :class:`lexprep.ner.merge.Span` with ``extractor="rules"`` and score 1.0.
"""

from __future__ import annotations

import re

from lexprep.ner.merge import Span

# --------------------------------------------------------------------------------------------- COURT

_S = r"\s+"

_STATES = [
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware",
    "Florida", "Georgia", "Hawai[i'ʻ]i", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas",
    "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan", "Minnesota",
    "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire", "New Jersey",
    "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio", "Oklahoma", "Oregon",
    "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota", "Tennessee", "Texas", "Utah",
    "Vermont", "Virginia", "Washington", "West Virginia", "Wisconsin", "Wyoming", "Puerto Rico",
    "Guam", "the Virgin Islands", "the Northern Mariana Islands", "the District of Columbia",
    "Columbia",
]
_STATE = "(?:" + "|".join(s.replace(" ", _S) for s in sorted(_STATES, key=len, reverse=True)) + ")"
_ORDINAL = (
    r"(?:First|Second|Third|Fourth|Fifth|Sixth|Seventh|Eighth|Ninth|Tenth|Eleventh|"
    r"1st|2nd|3rd|[4-9]th|10th|11th|D\.\s?C\.|District\s+of\s+Columbia|Federal)"
)
_DIRECTION = r"(?:Northern|Southern|Eastern|Western|Middle|Central)"
_DISTRICT = rf"(?:{_DIRECTION}{_S})?District{_S}of{_S}{_STATE}"
_US = r"(?:United\s+States|U\.\s?S\.)"
_CAP = r"(?-i:[A-Z][A-Za-z.'\-]+)"  # one capitalised word (a county or city name), even under re.I
_PLACE = rf"{_CAP}(?:{_S}{_CAP}){{0,2}}"

_COURT_PATTERNS = [
    # Supreme Court of the United States / United States Supreme Court / U.S. Supreme Court
    rf"Supreme{_S}Court{_S}of{_S}the{_S}United{_S}States",
    rf"{_US}{_S}Supreme{_S}Court",
    # United States Court of Appeals for the Ninth Circuit / Court of Appeals for the Ninth Circuit
    rf"(?:{_US}{_S})?Court{_S}of{_S}Appeals{_S}for{_S}the{_S}{_ORDINAL}{_S}Circuit",
    # United States District Court for the District of Arizona (also Bankruptcy Court)
    rf"(?:{_US}{_S})?(?:District|Bankruptcy){_S}Court,?{_S}(?:for{_S}the{_S})?{_DISTRICT}",
    rf"{_US}{_S}(?:District|Bankruptcy){_S}Court",
    # Superior Court of California, County of Los Angeles / Superior Court of the State of X
    rf"Superior{_S}Court{_S}of{_S}(?:the{_S}State{_S}of{_S})?{_STATE}"
    rf"(?:,?{_S}(?:County|City{_S}and{_S}County){_S}of{_S}{_PLACE}|,?{_S}in{_S}and{_S}for{_S}(?:the{_S})?"
    rf"(?:County|City{_S}and{_S}County){_S}of{_S}{_PLACE})?",
    # Los Angeles County Superior Court / Cook County Circuit Court
    rf"{_PLACE}{_S}County{_S}(?:Superior|Circuit|District|Probate|Family|Chancery){_S}Court",
    rf"(?:Circuit|District|Superior|Chancery|Probate){_S}Court{_S}(?:of|for){_S}{_PLACE}{_S}County",
    # Supreme Court of Texas / Texas Supreme Court / Court of Appeals of Texas / Texas Court of Appeals
    rf"(?:Supreme{_S}Court|Court{_S}of{_S}(?:Criminal{_S})?Appeals?|Appellate{_S}Court|Court{_S}of{_S}Chancery)"
    rf"{_S}of{_S}(?:the{_S}State{_S}of{_S}|the{_S}Commonwealth{_S}of{_S})?{_STATE}",
    rf"{_STATE}{_S}(?:Supreme{_S}Court|Court{_S}of{_S}(?:Criminal{_S})?Appeals?|Appellate{_S}Court|"
    rf"Court{_S}of{_S}Chancery|Superior{_S}Court|Commonwealth{_S}Court)",
    # federal specialised courts
    rf"(?:{_US}{_S})?Court{_S}of{_S}(?:Federal{_S}Claims|International{_S}Trade|Appeals{_S}for{_S}Veterans{_S}Claims|"
    rf"Appeals{_S}for{_S}the{_S}Armed{_S}Forces)",
    rf"(?:{_US}{_S})?Tax{_S}Court",
    rf"Court{_S}of{_S}Common{_S}Pleas(?:{_S}of{_S}{_PLACE}{_S}County)?",
    # the Ninth Circuit (the court of appeals, by its usual short name)
    rf"{_ORDINAL}{_S}Circuit(?:{_S}Court{_S}of{_S}Appeals)?",
    # courts named with their seat: "High Court of Judicature at Bombay", "High Court of Delhi at New
    # Delhi", "Court of Appeal of England and Wales", "Crown Court at Southwark"
    rf"(?:(?:High|Supreme|Sessions|Family|Crown|County|Magistrates'?|Appellate|Constitutional){_S})?Court{_S}of{_S}"
    rf"(?:Judicature{_S}(?:at|for){_S})?(?:Appeal{_S}(?:of|for){_S})?{_PLACE}(?:{_S}and{_S}{_PLACE})?"
    rf"(?:,?{_S}(?:at|in){_S}{_PLACE})?",
    rf"(?:Crown|County|Magistrates'?|Sessions){_S}Court{_S}at{_S}{_PLACE}",
    # bare names that in a court document denote one court
    rf"(?:District|Bankruptcy|Supreme|Superior){_S}Court",
    rf"Court{_S}of{_S}Appeals?",
]
# longest alternatives first is not needed: re tries alternatives in order, so list specific first
COURT_RE = re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in _COURT_PATTERNS) + r")\b", re.IGNORECASE)

_COURT_KEYWORDS = re.compile(
    r"\b(?:court|circuit|appeals?|supreme|superior|district|bankruptcy|chancery)\b", re.IGNORECASE
)


def _written_as_name(text: str) -> bool:
    """True when every court key word of ``text`` starts with a capital (or the text is in capitals)."""
    if text.isupper():
        return True
    return all(m.group(0)[0].isupper() for m in _COURT_KEYWORDS.finditer(text))


#: every court name holds one of these; COURT_RE only runs in windows around them
_COURT_ANCHOR = re.compile(r"court|circuit", re.IGNORECASE)
_BEFORE, _AFTER = 120, 160  # longest name part before / after its anchor word, with margin


def court_spans(text: str) -> list[Span]:
    """COURT mentions in ``text``: a list of Span (label COURT, normalized = the name on one line).

    For speed the large COURT_RE runs only in a window around each "court"/"circuit" (about 5x
    faster on court documents than one scan of the whole text, same matches).
    """
    out: list[Span] = []
    covered = -1  # end of the last accepted match
    for anchor in _COURT_ANCHOR.finditer(text):
        if anchor.start() < covered:
            continue
        ws = max(covered, anchor.start() - _BEFORE, 0)
        we = min(len(text), anchor.end() + _AFTER)
        for m in COURT_RE.finditer(text, ws, we):
            if m.end() <= anchor.start():
                continue  # a name before the anchor; found through its own anchor
            if m.start() > anchor.start():
                break
            s = m.group(0)
            if _written_as_name(s):
                out.append(Span("COURT", m.start(), m.end(), 1.0, "court", "rules", " ".join(s.split())))
                covered = m.end()
            break
    return out


# -------------------------------------------------------------------------------------------- DOCKET

_DASH = r"[-‐‑‒–—]"
# shapes of a case number; each alternative is specific enough not to be a page, exhibit or ECF number
_DOCKET_NUM = (
    r"(?:"
    rf"\d{{1,2}}:\d{{2}}{_DASH}[A-Za-z]{{1,4}}{_DASH}\d{{2,6}}(?:{_DASH}[A-Za-z0-9]{{1,6}})*"  # 2:19-cv-01234-ABC
    rf"|\d{{2,4}}{_DASH}[A-Za-z]{{1,4}}{_DASH}\d{{2,7}}"  # 19-cv-1234, 2019-CA-001234
    rf"|[A-Z]{{1,4}}{_DASH}?\d{{2,4}}{_DASH}\d{{2,8}}(?:{_DASH}[A-Z0-9]{{1,6}})?"  # CV-2019-001234, A19-0123
    rf"|\d{{2,4}}{_DASH}\d{{1,7}}(?:{_DASH}[A-Za-z0-9]{{1,6}})?"  # 11-889, 20-1234, 2020-1234
    r"|[A-Z]{2,3}\d{5,9}"  # BC123456 (California)
    rf"|\d{{2,4}}{_DASH}[A-Z]{{1,4}}\d{{3,8}}"  # 1711-CC00064 (Missouri)
    r"|\d{3,9}/\d{2,4}"  # 123456/2019 (New York index numbers)
    r")"
)
# numbers after an explicit case prefix may also be plain digits of 5+ ("Case No. 123456"; a short
# "Docket No. 477" is a docket *entry*, not a case)
_DOCKET_NUM_LOOSE = rf"(?:{_DOCKET_NUM}|\d{{5,9}})"
_LIST_SEP = r"(?:\s*,\s*(?:and\s+|&\s+)?|\s+(?:and|&)\s+)"
#: a bracketed suffix that is part of a case number: "1:19-cv-01234 (JPO)", "No. 12-345 (L)"
_DOCKET_TAIL = r"(?:[ \t]?\((?-i:[A-Z]{1,5}(?:/[A-Z]{1,5})?)\))?"
_EXPLICIT = (
    r"(?:(?:Civil|Criminal)\s+(?:Action|Case)|Case|Docket|Index|Cause|Adversary(?:\s+Proceeding)?|"
    r"Adv\.\s*Pro(?:c)?\.|Appeal|Petition|Misc\.)"
)
#: "Case No. 2:19-cv-01234", "Nos. 11-889, 11-890", "No. 11–889" (not "Pub. L. No. 111-203",
#: "ECF No. 40", "Docket Entry No. 11-1", "Dkt. No. 12-3": statute and docket-entry numbers)
DOCKET_RE = re.compile(
    rf"(?<![A-Za-z])(?:(?P<explicit>{_EXPLICIT})\s+(?:Nos?\.|Numbers?|#)\s*(?P<nums1>{_DOCKET_NUM_LOOSE}"
    rf"{_DOCKET_TAIL}(?:{_LIST_SEP}{_DOCKET_NUM_LOOSE}{_DOCKET_TAIL})*)"
    rf"|(?<!L\.\s)(?<!L\.)(?<!Entry\s)(?<!Dkt\.\s)(?<!ECF\s)(?<!Doc\.\s)(?P<bare>Nos?\.)\s*(?P<nums2>{_DOCKET_NUM}{_DOCKET_TAIL}(?:{_LIST_SEP}{_DOCKET_NUM}{_DOCKET_TAIL})*))"
    r"(?![\w/])",
    re.IGNORECASE,
)
#: a federal district-court number is distinctive enough to count without "No.": 1:21-cv-01234
FEDERAL_DOCKET_RE = re.compile(
    rf"(?<![\w:/.-])\d{{1,2}}:\d{{2}}{_DASH}(?:cv|cr|mc|mj|bk|ap|md|po|sw|gj|ml|dp){_DASH}\d{{2,6}}"
    rf"(?:{_DASH}[A-Za-z0-9]{{1,6}})*{_DOCKET_TAIL}(?![\w/])",
    re.IGNORECASE,
)
#: numbers written "<kind> No. 1234 of 2019" / "W.P.(C) 5678/2020" (Commonwealth and Indian courts)
OF_YEAR_DOCKET_RE = re.compile(
    r"(?<![\w.])(?:(?:Civil|Criminal|Writ|Special\s+Leave|Transfer|Review|Contempt|Original|Regular|First|Second)"
    r"\s+(?:Appeal|Petition|Suit|Application|Case)s?(?:\s*\((?:C|Crl|Civil|Criminal)\.?\))?"
    r"|(?:W\.\s?P|S\.\s?L\.\s?P|C\.\s?A|Crl\.\s?A|O\.\s?S|R\.\s?F\.\s?A)\.?\s?(?:\((?:C|Crl|Civil|Criminal)\.?\))?)"
    r"\s*(?:Nos?\.|Number)?\s*(?P<num>\d{1,7}(?:\s*(?:of|/)\s*(?:19|20)\d\d))(?![\w/])",
    re.IGNORECASE,
)
_ONE_NUM = re.compile(_DOCKET_NUM_LOOSE + _DOCKET_TAIL, re.IGNORECASE)
_DASHES = re.compile(_DASH)


def normalize_docket(number: str) -> str:
    """A docket number's key: ASCII hyphens, lower case (``11–889`` -> ``11-889``)."""
    return _DASHES.sub("-", number).lower()


def docket_spans(text: str) -> list[Span]:
    """DOCKET mentions: one Span per case number (a list "Nos. 11-889, 11-890" gives two).

    The span of the first number of a prefixed list includes its prefix ("No. 11–889",
    "Case No. 2:19-cv-01234-ABC"); later numbers of the list are spans of their own.
    ``normalized`` is the number alone, see :func:`normalize_docket`.
    """
    out: list[Span] = []
    taken: list[tuple[int, int]] = []
    for m in DOCKET_RE.finditer(text):
        group = "nums1" if m.group("nums1") else "nums2"
        gstart = m.start(group)
        first = True
        for n in _ONE_NUM.finditer(m.group(group)):
            start, end = gstart + n.start(), gstart + n.end()
            out.append(
                Span("DOCKET", m.start() if first else start, end, 1.0, "docket", "rules", normalize_docket(n.group(0)))
            )
            first = False
        taken.append((m.start(), m.end()))
    for m in OF_YEAR_DOCKET_RE.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        out.append(Span("DOCKET", m.start(), m.end(), 1.0, "docket", "rules",
                        normalize_docket(" ".join(m.group(0).split()))))
        taken.append((m.start(), m.end()))
    for m in FEDERAL_DOCKET_RE.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        out.append(Span("DOCKET", m.start(), m.end(), 1.0, "docket", "rules", normalize_docket(m.group(0))))
    return out


# --------------------------------------------------------------------------------------------- LAW

#: "Section 10(b) of the Securities Exchange Act of 1934", "§ 10(b) of the Exchange Act",
#: "Title VII of the Civil Rights Act of 1964", "Rule 10b-5": provisions named with their statute,
#: which eyecite's reporter-based law citations do not parse.
STATUTE_RE = re.compile(
    r"\b(?:(?:Section|Sections|Sec\.|§§?)\s*\d+[A-Za-z0-9.\-]*(?:\([A-Za-z0-9]+\))*"
    r"|Title\s+[IVXLC]+)"
    r"\s+of\s+the\s+(?:[A-Z][A-Za-z.'\-]*\s+){0,8}?(?:Act|Code|Constitution|Convention|Compact|Treaty)"
    r"(?:\s+of\s+(?:19|20)\d\d)?\b"
    r"|\bRule\s+\d+[a-z]?-\d+\b",
)


_LAW_WORD = r"(?:[A-Z][A-Za-z'\-]*(?![.\w])|(?:[A-Z]\.){1,3}|U\.S\.|of|and|the|for|on|&)"
#: a statute, code or constitution by its name: "the Clean Water Act", "Texas Insurance Code",
#: "Securities Exchange Act of 1934", "Federal Rules of Civil Procedure", "United States Constitution"
NAMED_LAW_RE = re.compile(
    rf"(?<![\w.])(?:[A-Z][A-Za-z'\-]*(?:[ \t]+|\n(?=[A-Z])))(?:{_LAW_WORD}(?:[ \t]+|\n(?=[A-Z]))){{0,8}}?"
    r"(?:Act|Code(?:[ \t]+of[ \t]+[A-Z][A-Za-z.]*(?:[ \t]+[A-Z][A-Za-z.]*){0,3})?|Constitution|Compact|Treaty|Statutes|Regulations|Ordinance|Charter"
    r"|Rules[ \t]+of[ \t]+(?:Civil|Criminal|Appellate|Bankruptcy)[ \t]+Procedure|Rules[ \t]+of[ \t]+Evidence)"
    r"(?:[ \t]+of[ \t]+(?:1[6-9]|20)\d\d)?(?![\w-])"
    r"|(?<![\w.])(?:First|Second|Third|Fourth|Fifth|Sixth|Seventh|Eighth|Ninth|Tenth|Eleventh|Twelfth|Thirteenth|"
    r"Fourteenth|Fifteenth|Sixteenth|Seventeenth|Eighteenth|Nineteenth|Twentieth|Twenty-\w+|\d{1,2}(?:st|nd|rd|th))"
    r"[ \t]+Amendment(?![\w-])",
)
#: words that open a sentence or a reference rather than a law's name ("This Act", "Such Code")
_LAW_STOP = re.compile(r"^(?:The|This|That|These|Those|Such|Said|Each|Any|Our|Its|Their|An?|In|Under|By|Of|And|Or|See|Cf\.|"
                       r"Also|Pursuant|Section|Sections|Article|Chapter|Title|One|Once|While|When|Whenever|Because|"
                       r"Although|Though|Since|If|Unless|Whether|After|Before|During|Until|Upon|Both|Either|Neither|"
                       r"Every|All|Some|No|Not|Only|Even|Thus|Therefore|However|Here|There|Where|How|What|Which|Who|"
                       r"It|He|She|They|We|You|I|As|At|For|From|On|To|With|Without|Into|Than|Then|So|But|Nor|Yet|"
                       r"Applicable|Other|Relevant|Certain|Existing|Current|Prior|New|Same|Following|Above|Foregoing|"
                       r"Governing|Federal|State|Local|Said|Such|Any|Its|His|Her|"
                       r"[A-Z]\.|[IVX]+\.)[ \t]+")
#: state code citations eyecite leaves unparsed: "Okla. Stat. tit. 82, § 1086.2", "Fla. Stat. § 57.105"
STATE_CODE_RE = re.compile(
    r"(?<![\w.])(?:[A-Z][A-Za-z]{1,6}\.[ \t]?){1,3}(?:Rev\.[ \t]?|Gen\.[ \t]?|Comp\.[ \t]?|Ann\.[ \t]?)?"
    r"(?i:Stat|Code|Laws)\.?(?:\s?Ann\.)?,?\s?(?:[Tt]it\.\s?\d+[A-Z]?,?\s?)?§§?\s?\d[\w.:\-]*"
    r"(?:\([A-Za-z0-9]{1,4}\))*"
    r"|(?<![\w.])Fed\.[ \t]?R\.[ \t]?(?:Civ|Crim|App|Evid|Bankr)\.[ \t]?(?:P\.[ \t]?)?\d+(?:\.\d+)?(?:\([A-Za-z0-9]{1,4}\))*"
)


#: words that alone make no law's name ("Rules and Regulations", "Applicable Laws")
GENERIC_LAW_WORDS = frozenset("""rules rule regulations regulation laws law statutes statute code codes act acts
ordinances ordinance and or of the applicable federal state local all other such any""".split())


def statute_spans(text: str) -> list[Span]:
    """LAW mentions: the forms of STATUTE_RE, STATE_CODE_RE and NAMED_LAW_RE (normalized = the match
    on one line, without a leading article)."""
    out = [
        Span("LAW", m.start(), m.end(), 1.0, "statute", "rules", " ".join(m.group(0).split()))
        for regex in (STATUTE_RE, STATE_CODE_RE)
        for m in regex.finditer(text)
    ]
    for m in NAMED_LAW_RE.finditer(text):
        start, value = m.start(), m.group(0)
        if "\n" in value:
            continue
        stop = _LAW_STOP.match(value)
        while stop:
            start += stop.end()
            value = value[stop.end():]
            stop = _LAW_STOP.match(value)
        joined = re.search(r"[ \t]+(?:and|or)[ \t]+the[ \t]+", value)
        if joined:  # "Carrier and the Red River Compact": the law is what follows "and the"
            start += joined.end()
            value = value[joined.end():]
        if len(value.split()) < 2 and not value.endswith("Amendment"):
            continue  # "Act", "Code" alone: a reference, not a name
        if re.search(r"\b(?:of|and|the|for|on)[ \t]+(?:Act|Code|Compact|Treaty|Constitution)$", value):
            continue  # "Consent of the Compact": a phrase about a law, not its name
        if all(w.casefold().strip(".,;") in GENERIC_LAW_WORDS for w in value.split()):
            continue  # "Rules and Regulations": a kind of law, not one
        out.append(Span("LAW", start, m.end(), 1.0, "named_law", "rules", " ".join(value.split())))
    return out


# -------------------------------------------------------------------------------------------- MONEY

_SCALE_WORDS = r"(?:thousand|million|billion|trillion|mm|bn|[MB])"
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
#: an amount with its currency: "$3.5 million", "US$ 1,000", "€200", "USD 5,000", "5,000 dollars",
#: "Ten Thousand Dollars ($10,000.00)"
MONEY_RE = re.compile(
    rf"(?:(?:US|U\.S\.|C|A|NZ|HK)?[$€£¥₹][ \t]?(?:{_NUM})(?:[ \t]?{_SCALE_WORDS}\b)?"
    rf"|\b(?:USD|EUR|GBP|CAD|AUD|CHF|JPY|INR|Rs\.?)[ \t]?(?:{_NUM})(?:[ \t]?{_SCALE_WORDS}\b)?"
    rf"|\b(?:{_NUM})(?:[ \t]?(?:thousand|million|billion|trillion))?[ \t]+(?:U\.S\.[ \t]|US[ \t])?"
    r"(?:dollars|euros|pounds[ \t]sterling|cents|rupees)\b"
    r"|(?<![\w-])(?:(?:[A-Z][a-z]+|[A-Z]+)(?:[ \t-]+|[ \t]+and[ \t]+)){1,8}(?:Dollars|DOLLARS)"
    rf"(?:[ \t]*\((?:US|U\.S\.)?\$[ \t]?(?:{_NUM})\))?)",
)


def money_spans(text: str) -> list[Span]:
    """MONEY mentions with their currency sign or word (normalized = the match on one line)."""
    return [Span("MONEY", m.start(), m.end(), 1.0, "money", "rules", " ".join(m.group(0).split()))
            for m in MONEY_RE.finditer(text)]


# ----------------------------------------------------------------------- ORG with a corporate suffix

_ORG_WORD = r"(?-i:(?!(?:By|BY|Its|ITS|Name|NAME|Title|TITLE)\b)[A-Z][A-Za-z0-9&'\-]*|[A-Z]\.|&|of|and|the|de|du|des|la|le|von|van|der|del|da|di)"
_ORG_SUFFIX = (
    r"(?:Inc\.?|Incorporated|Corp\.?|Corporation|Company|Co\.|L\.?L\.?C\.?|L\.?\s?P\.?|LLP|L\.L\.P\.|Ltd\.?|Limited"
    r"|PLC|plc|N\.A\.|S\.A\.|S\.?A\.?S\.?|S\.?A\.?R\.?L\.?|S\.p\.A\.|GmbH|AG|B\.?V\.?|N\.?V\.?|Pty\.?\s?Ltd\.?"
    r"|Partners|Group|Holdings|Bank|Trust)"
)
#: two to eight capitalised words (allowing "of", "and", "&", "the" inside) ending in a corporate suffix,
#: e.g. "ENTERPRISE TRANSPORTATION COMPANY", "I-ON INTERACTIVE, INC.", "Stallings Capital Group Consultants, Ltd."
ORG_SUFFIX_RE = re.compile(
    rf"(?<![\w.-])(?-i:[A-Z])(?:\.|[\w&'\-]*)(?:(?:[ \t]|\n(?=[A-Z]))(?:{_ORG_WORD})){{0,6}},?(?:[ \t]|\n)(?=[A-Z])"
    rf"(?i:{_ORG_SUFFIX})(?![\w])"
)
_ORG_STOP_START = re.compile(r"^(?:The|This|Each|Such|Any|All|Said|Our|Its|Their|By|And|Between|Of|To|In|For|With|"
                             r"(?:Exhibit|Schedule|Annex|Appendix|Attachment|Section|Article)\s+[A-Z0-9.]{1,4}|"
                             r"Plaintiffs?|Defendants?|Appellants?|Appellees?|Petitioners?|Respondents?|Distributor|"
                             r"Customer|Carrier|Shipper|Sponsor|Attorneys\s+for|Counsel\s+for)\s", re.I)


#: a corporate suffix followed by "and"/"&" inside a match: where the next company's name begins
_INNER_SUFFIX = re.compile(r"(?<=\w)[ \t]*,?[ \t]+(?:Inc\.?|LLC|L\.L\.C\.|LLP|L\.P\.|LP|Ltd\.?|SAS|S\.A\.|GmbH|AG|Corp\.?|"
                           r"Corporation|Company|PLC|N\.A\.)[ \t]*,?[ \t]+(?:and|AND|&)[ \t]+(?=[A-Z])")
_DOCUMENT_WORDS = frozenset("agreement agreements section article exhibit schedule amendment contract".split())
#: words of a filing's title ("Defendant's Notice of Motion and Motion to Dismiss")
_FILING_WORDS = frozenset("""notice motion memorandum brief order stipulation complaint answer reply opposition
petition declaration affidavit exhibit application request response objection""".split())
_FUNCTION_WORDS = frozenset("within or to from for by with at in on into upon under over between among per via".split())


def org_suffix_spans(text: str) -> list[Span]:
    """ORG spans for names ending in a corporate suffix (Inc., Corp., Company, LLC, L.P., Ltd. ...).

    Contracts name their parties this way in the preamble and signature blocks, often in capitals,
    where a statistical model trained on news misses them. A leading article or preposition is not
    part of the name ("between Acme Corp." -> "Acme Corp.").
    """
    out: list[Span] = []
    for m in ORG_SUFFIX_RE.finditer(text):
        start, value = m.start(), m.group(0)
        stop = _ORG_STOP_START.match(value)
        while stop:
            start += stop.end()
            value = value[stop.end():]
            stop = _ORG_STOP_START.match(value)
        if len(value.split()) < 2 or value.count("\n") > 1:
            continue
        if "\n" in value and (start == 0 or text[start - 1] == "\n"):
            # a name on a line of its own above the company's line (a signature block): the company only
            head, _, rest = value.rpartition("\n")
            start += len(head) + 1
            value = rest
            if len(value.split()) < 2:
                continue
        filing = re.match(r"(?is)(.*?)\b(?:and|AND)[ \t\n]+", value)
        if filing and any(w.casefold().strip(",.'’s") in _FILING_WORDS for w in filing.group(1).split()):
            start += filing.end()  # "NOTICE OF MOTION AND\nMERIDIAN COASTAL SHIPPING CO.": a title's words before
            value = value[filing.end():]
            if len(value.split()) < 2:
                continue
        inner = list(_INNER_SUFFIX.finditer(value))
        if inner:  # "Silicium de Provence SAS and Evergreen Solar Inc": two companies
            pos = 0
            for cut in inner:
                name_end = cut.start() + len(cut.group(0).rstrip()) - len(cut.group(0).rstrip().split()[-1])
                name = value[pos:name_end].rstrip(" ,\t")
                if len(name.split()) >= 2 and name[:1].isupper():
                    out.append(Span("ORG", start + pos, start + pos + len(name), 1.0, "ORG", "rules"))
                pos = cut.end()
            start += pos
            value = value[pos:]
            if len(value.split()) < 2:
                continue
        words = value.replace(",", " ").split()
        if any(w.casefold() in _FUNCTION_WORDS and w[:1].isupper() for w in words[:-1]):
            continue  # "PLACES WITHIN OR ADJACENT TO INCORPORATED": a heading, not a name
        if any(w.casefold().strip(",.") in _DOCUMENT_WORDS for w in words[:-1]):
            continue  # "Limited Liability Company Agreement of the Company": a document, not a company
        vw = value.split()
        title = [i for i, w in enumerate(vw[:-1]) if w[:1].isupper() and not w.isupper() and w.casefold() not in ("of", "and", "the")]
        upper = [i for i, w in enumerate(vw[:-1]) if w.isupper() and len(w.strip(",.&")) >= 3]
        if len(title) >= 2 and len(upper) >= 2 and max(title) < min(upper):  # "Judah Lakin LAKIN & WILLE LLP"
            k = max(title) + 1
            cut = len(" ".join(value.split()[:k]))
            rest = value[cut:].lstrip()
            start += len(value) - len(rest)
            value = rest
            if len(value.split()) < 2:
                continue
        out.append(Span("ORG", start, m.end(), 1.0, "ORG", "rules"))
    return out


def rule_spans(text: str) -> list[Span]:
    """COURT, DOCKET, statute LAW, MONEY and corporate-suffix ORG spans of ``text``, in text order
    (they may overlap one another: lexprep.ner.merge picks one per span)."""
    spans = court_spans(text) + docket_spans(text) + statute_spans(text) + money_spans(text) + org_suffix_spans(text)
    spans.sort(key=lambda s: (s.start, s.end, s.label))
    return spans
