"""Rules for court documents (opinions, orders, briefs, pleadings): court, docket numbers, caption
parties with their roles, judges, counsel with the side they represent, decision or filing date and
disposition.

- **Court**: the caption's court line(s) in the head of the document ("United States Court of Appeals
  / For the First Circuit", "IN THE UNITED STATES DISTRICT COURT FOR THE DISTRICT OF ARIZONA",
  "Supreme Court of Indiana", "In the Missouri Court of Appeals / Eastern District"); a court named
  after "appeal from" / "certiorari to" is the lower court, not this one.
- **Docket numbers**: "No.", "Nos.", "Case No.", "Cause No.", "Docket No.", "USDC No." in the head; one
  under an "Appeal from ..." line is the lower court's (``attrs["lower_court"]``); numbers on a line
  naming another case ("X v. Y, Case Nos. ...") are left out.
- **Parties**: the caption parties lexprep.ner.document found (mentions with ``attrs["roles"]``), role
  ``plaintiff-appellant`` etc.; "In re: X" gives X with role ``in_re``.
- **Judges**: "Before: A, B and C, Circuit Judges", "A, Chief Judge", "Dickson, Justice." opening an
  opinion, "A, P.J., B, J., and C, J.", the signature "NAME / United States District Judge", and
  "Hon. / Honorable X" (the lower court's judge when under "Appeal from").
- **Counsel**: "X, with whom Y ... were on brief, for appellant." and a block of names ending "Counsel
  for Plaintiffs-Appellees" / "Attorneys for Appellee": the PERSON mentions there, ``role`` the side.
- **Dates**: "Decided June 13, 2013" (decision), "Filed: January 19, 2021" / "FILED March 16, 2022"
  (filing), "Dated: August 5, 2016" (an order's decision date), a date alone on a line right after
  the caption (decision).
- **Disposition**: "AFFIRMED", "we AFFIRM", "REVERSED AND REMANDED", "... is GRANTED", "ORDER
  GRANTING ...", "we affirm ... we remand" (one fact per disposition).
"""

from __future__ import annotations

import re

from lexprep.facts._common import entity_mention, party_label, span_fact, strip_span
from lexprep.facts.dates import find_dates
from lexprep.models import Fact, Mention

__all__ = ["extract", "looks_like_court_document"]

HEAD = 4_000
_NAME = r"(?:[A-Z][A-Za-z'’\-]+|[A-Z]\.)(?:[ \t]+(?:[A-Z][A-Za-z'’\-]+|[A-Z]\.|de|van|von|St\.))*"
_COURT = re.compile(
    r"(?i)(?:\bIN[ \t]+THE[ \t]+)?(?:"
    r"\bUNITED[ \t]+STATES[ \t]+(?:COURT[ \t]+OF[ \t]+(?:APPEALS|FEDERAL[ \t]+CLAIMS|INTERNATIONAL[ \t]+TRADE)|DISTRICT[ \t]+COURT"
    r"|BANKRUPTCY[ \t]+COURT|TAX[ \t]+COURT)"
    r"(?:\s*,?\s*(?:FOR[ \t]+THE[ \t]+)?(?:(?:[A-Z]+)[ \t]+)?(?:CIRCUIT|DISTRICT[ \t]+OF[ \t]+[A-Z][A-Za-z]+(?:[ \t]+[A-Z][A-Za-z]+)?"
    r"|(?:NORTHERN|SOUTHERN|EASTERN|WESTERN|CENTRAL|MIDDLE)[ \t]+DISTRICT[ \t]+OF[ \t]+[A-Z][A-Za-z]+(?:[ \t]+[A-Z][A-Za-z]+)?))?"
    r"|\bSUPREME[ \t]+COURT[ \t]+OF[ \t]+(?:THE[ \t]+UNITED[ \t]+STATES|(?-i:[A-Z][A-Za-z]+)(?:[ \t]+(?-i:[A-Z][a-z]+))?)"
    r"|\b(?-i:[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+)?)[ \t]+(?:Supreme[ \t]+Court|Court[ \t]+of[ \t]+Appeals?"
    r"(?:\s*\n\s*(?:Eastern|Western|Southern|Northern|Central|First|Second|Third|Fourth|Fifth)[ \t]+(?:District|Division))?)"
    r"|\b(?-i:[A-Z]+)[ \t]+(?:SUPREME[ \t]+COURT|COURT[ \t]+OF[ \t]+APPEALS)"
    r")"
)
#: a caption line naming a state court, with the next line when it continues it ("FOR THE COUNTY OF X")
_COURT_LINE = re.compile(
    r"(?m)^[ \t]*(?P<court>(?:IN[ \t]+THE[ \t]+|In[ \t]+the[ \t]+)?(?:(?i:superior|circuit|district|county|probate|family|"
    r"municipal|chancery|justice|criminal|civil|surrogate'?s|juvenile|tax|land|housing|orphans'?)[ \t]+COURT|"
    r"(?i:superior|circuit|district|county|probate|family|municipal|chancery)[ \t]+Court|COURT[ \t]+OF[ \t]+(?:APPEALS?|CHANCERY|"
    r"COMMON[ \t]+PLEAS|CRIMINAL[ \t]+APPEALS|FEDERAL[ \t]+CLAIMS)|Court[ \t]+of[ \t]+(?:Appeals?|Chancery|Common[ \t]+Pleas|"
    r"Criminal[ \t]+Appeals))(?:[ \t]+(?:OF|FOR|of|for)[ \t]+[^\n]{3,70})?"
    r"(?:\n[ \t]*(?:FOR[ \t]+THE[ \t]+|For[ \t]+the[ \t]+)?(?:COUNTY|County|PARISH|Parish|[A-Z]+[ \t]+APPELLATE[ \t]+DISTRICT|"
    r"[A-Z][a-z]+[ \t]+Appellate[ \t]+District)[^\n]{0,60})?)[ \t]*$")
_LOWER_CONTEXT = re.compile(r"(?i)\b(?:appeal(?:ed)?\s+from|on\s+appeal|certiorari\s+to|petition\s+for\s+review\s+of|"
                            r"on\s+review\s+from|transferred\s+from|removed\s+from|usdc)\b")
_DOCKET = re.compile(
    r"(?<![\w.])(?:(?:Case|Cause|Docket|Civil\s+Action|Criminal\s+Action|Appeal|USDC|BAP|Misc\.?)\s+)?"
    r"(?:No|NO|Nos|NOS)\.?\s*:?\s*"
    r"(?P<num>\d{2,4}[ \t]+[A-Z]{1,3}[ \t]+\d{3,}|(?:MDL\s+)?(?=[A-Z0-9:\-.]*\d)[A-Z0-9][A-Za-z0-9:\-.]*[A-Za-z0-9]"
    r"(?:\s+(?:[A-Z]{2,4})(?:\s*\([A-Za-z]+\))?(?=\s*\n))?)"
)
_BEFORE = re.compile(r"(?s)\bBefore:?\s+(?P<list>.{3,300}?),?\s+(?:(?:Senior|Chief|Circuit|District|Associate|Appellate)\s+)*"
                     r"(?:Judges|Justices)\b\.?")
_SIGNATURE_JUDGE = re.compile(
    rf"(?m)^[ \t]*(?P<name>(?:Hon\.\s+)?{_NAME})[ \t]*\n[ \t]*(?:(?:Senior|Chief)[ \t]+)?(?:United[ \t]+States[ \t]+|U\.S\.[ \t]+)?"
    r"(?:District|Magistrate|Circuit|Bankruptcy)[ \t]+Judge\b", re.IGNORECASE)
_AUTHOR = re.compile(rf"(?m)^[ \t]*(?P<name>{_NAME}),[ \t]+(?:Chief[ \t]+)?(?:Justice|Judge|J\.)[ \t]*\.?[ \t]*$")
_PANEL_LINE = re.compile(rf"(?m)^[ \t]*(?P<line>{_NAME},[ \t]+(?:P\.J\.|C\.J\.|J\.)(?:,?[ \t]+(?:and[ \t]+)?{_NAME},[ \t]+"
                         r"(?:P\.J\.|C\.J\.|J\.|JJ\.))+)[ \t]*$")
_HONORABLE = re.compile(rf"\b(?:Hon\.|Honorable|HONORABLE|The[ \t]+Honorable)[ \t]+(?P<name>{_NAME})")
_FOR_SIDE = re.compile(r"(?i)\bfor\s+(?:the\s+)?(?P<side>(?:plaintiffs?|defendants?|petitioners?|respondents?|appellants?|"
                       r"appellees?|movants?)(?:[\s-]+(?:appellants?|appellees?|petitioners?|respondents?))?)\b")
_COUNSEL_BLOCK = re.compile(r"(?im)^[ \t]*(?:counsel|attorneys?)[ \t]+for[ \t]+(?P<side>[A-Za-z][A-Za-z\- ]{2,40}?)[ \t]*$")
#: the end of a sentence (not an initial's period: "Mathew D. Staver") or a blank line
_SENTENCE_END = re.compile(r"(?:[a-z]{2}|[)\]\d])\.[ \t]*\n?|\n[ \t]*\n")
_DECIDED = re.compile(r"(?i)\b(?P<w>decided|filed|dated|entered|issued|argued|submitted)\b[ \t]*:?[ \t]*\n?[ \t]*")
_DISPOSITION = re.compile(
    r"\b(?P<caps>AFFIRMED|REVERSED|VACATED|REMANDED|DISMISSED|GRANTED|DENIED|MODIFIED)\b"
    r"|\b[Ww]e\s+(?:therefore\s+|thus\s+|accordingly\s+|hereby\s+)?(?P<we>AFFIRM|REVERSE|VACATE|REMAND|DISMISS|affirm|reverse|"
    r"vacate|remand|dismiss)\b"
    r"|\bORDER\s+(?P<title>GRANTING|DENYING)\b"
    r"|\b(?:is|are)\s+(?:hereby\s+)?(?P<is>affirmed|reversed|vacated|remanded|dismissed|granted|denied)(?=[.;]|\s+and\b)"
)
_AND_DISPOSITION = re.compile(r"(?:\s+(?:the\s+\w+(?:\s+\w+)?\s+)?(?:and|AND)\s+)(?P<w>remand|REMAND|vacate|VACATE|reverse|REVERSE)\b")
_DISP_NORMAL = {"affirm": "affirmed", "reverse": "reversed", "vacate": "vacated", "remand": "remanded",
                "dismiss": "dismissed", "granting": "granted", "denying": "denied"}
_TITLES = re.compile(r"(?i),?\s*\b(?:Chief\s+Judge|Circuit\s+Judges?|Senior\s+Judge|District\s+Judge|Justice|P\.J\.|C\.J\.|JJ?\.)\s*$")


def looks_like_court_document(text: str) -> bool:
    """Whether the head of ``text`` names a court and has a caption ("v." / "In re") or a docket number."""
    head = text[:HEAD]
    return bool(_COURT.search(head)) and bool(re.search(r"(?m)\b(?:v\.|vs\.?|versus|In\s+re)\b|\bNo\.\s*\S*\d", head))


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _lower_court(text: str, pos: int, dockets: bool = False, lines: int = 3) -> bool:
    """Whether a court, number or judge at ``pos`` belongs to the lower court: an "appeal from" on its
    line or within the ``lines`` lines before it."""
    start = _line_start(text, pos)
    for _ in range(lines):
        if start <= 0:
            break
        start = _line_start(text, start - 1)
    found = _LOWER_CONTEXT.search(text, start, pos)
    if found and dockets and re.match(r"(?i)certiorari", found.group(0)):
        return False  # the number under "certiorari to the court of appeals" is the Supreme Court's own
    return bool(found)


def _normal_court(value: str) -> str:
    v = " ".join(value.split())
    v = re.sub(r"(?i)^in\s+the\s+", "", v)
    small = {"of", "the", "for", "and"}
    words = v.split()
    out = []
    for i, w in enumerate(words):
        lw = w.lower()
        out.append(lw if i and lw in small else (w if not w.isupper() or len(w) <= 1 else w.capitalize()))
    v = " ".join(out)
    v = re.sub(r"(?i)\bU\.?s\.?\b", "U.S.", v)
    v = re.sub(r"(?i)(Court of Appeals)\s+(?!for\b)(\w+ Circuit)", r"\1 for the \2", v)
    v = re.sub(r"(?i)(District Court)\s+(?!for\b)((?:Northern|Southern|Eastern|Western|Central|Middle) District)",
               r"\1 for the \2", v)
    return v


def courts(text: str, mentions: list[Mention], added: list[Mention]) -> list[Fact]:
    spans = [(m.start(), m.end()) for m in _COURT.finditer(text, 0, min(len(text), HEAD))]
    # a state court's caption line ("SUPERIOR COURT OF THE STATE OF CALIFORNIA / FOR THE COUNTY OF LOS ANGELES")
    spans += [(m.start("court"), m.end("court")) for m in _COURT_LINE.finditer(text, 0, min(len(text), HEAD))]
    for start, end in sorted(spans):
        s, e = strip_span(text, start, end, " \t\r\n,")
        if _lower_court(text, s):
            continue
        ent = entity_mention(text, s, e, "COURT", mentions, added, labels=("COURT", "ORG"))
        return [span_fact(text, "court", s, e, normalized=_normal_court(text[s:e]), entity_span=ent)]
    return []


def dockets(text: str, mentions: list[Mention]) -> list[Fact]:
    facts = []
    for m in _DOCKET.finditer(text, 0, min(len(text), HEAD)):
        num = m.group("num").rstrip(".")
        if not re.search(r"\d", num) or re.fullmatch(r"\d{1,2}", num):
            continue
        line = text[_line_start(text, m.start()):m.start()]
        if re.search(r"(?i)\bv\.?\s", line) or re.search(r"(?i)\b(?:exhibit|ex\.|doc\.|dkt\.|rule|bar|reg\.?|registration|"
                                                             r"tel\.?|phone|fax|account|policy|contract|agreement)\s*$", line) \
                or re.search(r",\s*(?:Case|Cause|Docket)?\s*$", line) or re.search(r"(?i)\bsee\b", line):
            continue  # another case's number (a citation), an exhibit, a bar number
        s, e = m.start("num"), m.start("num") + len(num)
        dm = next((x for x in mentions if x.label == "DOCKET" and x.doc_start <= s and e <= x.doc_end + 1), None)
        normalized = dm.normalized if dm is not None and dm.normalized else re.sub(r"\s+\(.*\)$", "", num)
        lower = _lower_court(text, m.start(), dockets=True)
        ent = (dm.doc_start, dm.doc_end) if dm is not None else None
        facts.append(span_fact(text, "docket_number", m.start(), e, value=" ".join(num.split()),
                               normalized=" ".join(normalized.split()), entity_span=ent,
                               attrs={"lower_court": True} if lower else None))
    return facts


#: a line that begins with a company suffix continues a name, it is none
_SUFFIX_FIRST = re.compile(r"(?i)\s*(?:inc|incorporated|corp|corporation|co|company|llc|l\.l\.c|ltd|limited|l\.p|lp|llp|plc)\b\.?")


def parties(text: str, mentions: list[Mention], added: list[Mention]) -> list[Fact]:
    facts = []
    for m in mentions:
        roles = (m.attrs or {}).get("roles")
        if roles is None or m.doc_start > HEAD * 2:
            continue
        role = "-".join(roles) if roles else None
        # the caption's own tail is no part of the name ("RLI INSURANCE COMPANY, a" before "corporation")
        value = _CAPTION_TAIL.sub("", " ".join(m.text.split())) or m.text
        facts.append(span_fact(text, "party", m.doc_start, m.doc_end, value=value, role=role,
                               entity_span=(m.doc_start, m.doc_end), attrs={"roles": list(roles)} if roles else None))
    if not facts:
        facts = _caption_by_role_lines(text, mentions, added)
    if not facts:
        inre = re.search(r"(?i)\bIn\s+re:?\s+(?P<name>[^\n,]{3,120}(?:\n[^\n,]{3,80})?)", text[:HEAD])
        if inre:
            s, e = strip_span(text, inre.start("name"), inre.end("name"))
            name_end = re.search(r"(?i),|\bNo\.|\n\n|\n(?=[^\n]*\bNo\.)|\n(?=\s*(?:C\.\s?A\.|Case|Civil|Chapter|Debtors?\b))",
                                 text[s:e])
            if name_end:
                e = s + name_end.start()
            s, e = strip_span(text, s, e)
            ent = entity_mention(text, s, e, "OTHER", mentions, added, labels=("ORG", "OTHER", "CASE"))
            facts.append(span_fact(text, "party", inre.start(), e, value=" ".join(text[s:e].split()), role="in_re",
                                   entity_span=ent))
    return facts


_ROLE_WORDS = r"(?:plaintiffs?|defendants?|appellants?|appellees?|petitioners?|respondents?)"
#: "Appellant (Defendant Below), )" / "Plaintiff-Appellee," alone on its line (a caption's column junk allowed)
_ROLE_LINE = re.compile(rf"(?im)^[ \t)]*(?P<role>{_ROLE_WORDS}(?:[\s,\-–—]+(?:and[ \t]+)?{_ROLE_WORDS})*"
                        rf"(?:\s*\(\s*{_ROLE_WORDS}\s+below\s*\))?)[ \t.,;]*(?:\)[^\n]*)?$")
_NAME_LINE = re.compile(r"^[ \t]*(?P<name>[A-Z][A-Za-z.,'’&\- ]{2,80}?)[ \t,]*(?:\)[^\n]*)?$")


_CAPTION_TAIL = re.compile(r"(?i)(?:,\s*(?:a|an|and|et\s+al\.?)|[\s,;]+)$")


def _caption_by_role_lines(text: str, mentions: list[Mention], added: list[Mention]) -> list[Fact]:
    """Caption parties found by their role lines when the document pass found none (a caption with no
    "v.", names and roles in a column: "RICHARD ROE, ) / ) / Appellant (Defendant Below), )")."""
    facts = []
    head = min(len(text), HEAD)
    for rm in _ROLE_LINE.finditer(text, 0, head):
        roles = []
        for w in re.findall(r"[a-z]+", rm.group("role").lower()):
            w = w.rstrip("s") if w.endswith("s") and w[:-1] in ("plaintiff", "defendant", "appellant", "appellee",
                                                                "petitioner", "respondent") else w
            if w not in ("below", "and") and w not in roles:
                roles.append(w)
        # "Appellant (Defendant Below)": the role below first, as in "Defendant-Appellant"
        if "below" in rm.group("role").lower() and len(roles) == 2:
            roles = [roles[1], roles[0]]
        # the name: the nearest non-empty line above (within three lines), junk ")" stripped
        pos = rm.start()
        for _ in range(3):
            prev_end = pos - 1
            prev_start = _line_start(text, max(prev_end, 0))
            if prev_end <= 0:
                break
            line = text[prev_start:prev_end]
            nm = _NAME_LINE.match(line)
            if nm and re.search(r"[A-Za-z]{2}", nm.group("name")) and not _ROLE_LINE.match(line):
                s, e = strip_span(text, prev_start + nm.start("name"), prev_start + nm.end("name"))
                tail = _CAPTION_TAIL.search(text, s, e)  # "RLI INSURANCE COMPANY, a" (", a corporation" below)
                if tail and tail.start() > s:
                    e = tail.start()
                if _SUFFIX_FIRST.match(text[s:e]):
                    break  # "INC., a corporation": the end of a name the line above began (two columns)
                ent = entity_mention(text, s, e, party_label(text, s, e), mentions, added)
                facts.append(span_fact(text, "party", s, e, role="-".join(roles), entity_span=ent,
                                       attrs={"roles": roles, "source": "role_line"}))
                break
            pos = prev_start
    return facts


def _names_in(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the names in a list "A, B, and C" / "A, Chief Judge, B and C" within [start, end)."""
    spans = []
    for m in re.finditer(_NAME, text[start:end]):
        s, e = start + m.start(), start + m.end()
        word = text[s:e]
        if re.fullmatch(r"(?i)(?:Chief|Circuit|Senior|District|Judges?|Justices?|and|Before|Hon\.|Honorable|"
                        r"Associate|Per|Curiam|P\.|J\.|C\.)", word):
            continue
        word_t = _TITLES.sub("", word)
        e = s + len(word_t.rstrip())
        while e > s and text[e - 1] in " ,":
            e -= 1
        # "Howard, Chief Judge" -> Howard; "Chief Judge" alone is no name
        if re.fullmatch(r"(?i)(?:chief|circuit|senior|district)(?:\s+judges?)?", text[s:e]):
            continue
        spans.append((s, e))
    return spans


def judges(text: str, mentions: list[Mention], added: list[Mention]) -> list[Fact]:
    facts = []

    def add(s: int, e: int, evidence: tuple[int, int] | None = None, role: str | None = None) -> None:
        name = " ".join(text[s:e].split())
        if len(name) < 2 or name.lower() in ("per curiam",):
            return
        ent = entity_mention(text, s, e, "PERSON", mentions, added, labels=("PERSON",))
        es, ee = evidence or (s, e)
        facts.append(span_fact(text, "judge", es, ee, value=name, role=role, entity_span=ent))

    head = min(len(text), HEAD)
    for m in _BEFORE.finditer(text, 0, head):
        for s, e in _names_in(text, m.start("list"), m.end("list")):
            add(s, e, role="panel")
    for m in _PANEL_LINE.finditer(text, 0, head):
        for s, e in _names_in(text, m.start("line"), m.end("line")):
            add(s, e, role="panel")
    for m in _AUTHOR.finditer(text, 0, head):
        add(m.start("name"), m.end("name"), role="author")
    for m in _HONORABLE.finditer(text, 0, head):
        words = m.group("name").split()
        if not (2 <= len(words) <= 5) or all(w.isupper() and len(w) > 2 for w in words):
            continue  # "HONORABLE DISCHARGE", a one-word title
        # a caption's column puts the trial judge a few lines under "Appeal from the Circuit Court of"
        add(m.start("name"), m.end("name"), role="lower_court" if _lower_court(text, m.start(), lines=6) else None)
    for m in _SIGNATURE_JUDGE.finditer(text):
        name = m.group("name")
        if len(name.split()) < 2:
            continue
        s = m.start("name") + (4 if name.startswith("Hon.") else 0)
        s, e = strip_span(text, s, m.end("name"))
        add(s, e, evidence=(s, m.end()), role="signed")
    return facts


#: "SEAN RIORDAN" / "sriordan@aclunc.org": a name alone on its line over an e-mail address
_NAME_OVER_EMAIL = re.compile(
    r"(?m)^[ \t]*(?P<name>(?:[A-Z][A-Za-zÀ-ÿ'’\-]+|[A-Z]\.)(?:[ \t]+(?:[A-Z][A-Za-zÀ-ÿ'’\-]+|[A-Z]\.)){1,3})\*?[ \t]*\n"
    r"[ \t]*[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+[ \t]*$")


def counsel(text: str, mentions: list[Mention], added: list[Mention] | None = None) -> list[Fact]:
    facts = []
    added = [] if added is None else added
    persons = sorted((m for m in mentions if m.label == "PERSON"), key=lambda m: m.doc_start)
    head = min(len(text), HEAD * 2)

    def side_of(raw: str) -> str:
        words = re.findall(r"[a-z]+", raw.lower())
        return "-".join(w[:-1] if w.endswith("s") else w for w in words)

    for m in _FOR_SIDE.finditer(text, 0, head):
        # the sentence this "for appellant" ends: back to the previous sentence end or blank line
        ends = [x.end() for x in _SENTENCE_END.finditer(text, max(0, m.start() - 800), m.start())]
        start = ends[-1] if ends else max(0, m.start() - 800)
        if m.start() - start > 600 or not re.search(r"(?i)\b(?:with\s+whom|on\s+(?:the\s+)?brief|argued|appeared)\b",
                                                    text[start:m.end()]):
            continue
        side = side_of(m.group("side"))
        for p in persons:
            if start <= p.doc_start and p.doc_end <= m.start():
                facts.append(span_fact(text, "counsel", p.doc_start, p.doc_end, role=side,
                                       entity_span=(p.doc_start, p.doc_end),
                                       attrs={"clause": " ".join(text[start:m.end()].split())[:300]}))
    # caption parties and the lower court's judge are no counsel, even inside a counsel block
    not_counsel = {(p.doc_start, p.doc_end) for p in persons if (p.attrs or {}).get("roles") is not None}
    for hm in _HONORABLE.finditer(text, 0, head):
        not_counsel.update((p.doc_start, p.doc_end) for p in persons
                           if hm.start("name") <= p.doc_start < hm.end("name") + 2)
    for m in _COUNSEL_BLOCK.finditer(text, 0, head):
        side = side_of(m.group("side"))
        if not re.fullmatch(r"(?:plaintiff|defendant|petitioner|respondent|appellant|appellee|movant)s?(?:-\w+)?", side):
            continue
        # a signature block: a name on its own line with the lawyer's e-mail address on the next
        block_start = max(text.rfind("Counsel for", 0, m.start()), m.start() - 3000, 0)
        for nm in _NAME_OVER_EMAIL.finditer(text, block_start, m.start()):
            s, e = nm.start("name"), nm.end("name")
            if (s, e) in not_counsel or any(p.doc_start < e and s < p.doc_end for p in persons):
                continue  # a caption party, or a name a PERSON mention already covers (taken below)
            ent = entity_mention(text, s, e, "PERSON", mentions, added, labels=("PERSON",))
            facts.append(span_fact(text, "counsel", s, e, role=side, entity_span=ent, attrs={"source": "signature"}))
        start = max(text.rfind("\n\n", 0, m.start()), text.rfind("Counsel for", 0, m.start()),
                    text.rfind("Attorney", 0, m.start() - 1))
        start = max(start, m.start() - 800, 0)
        for p in persons:
            if start <= p.doc_start and p.doc_end <= m.start() and (p.doc_start, p.doc_end) not in not_counsel:
                facts.append(span_fact(text, "counsel", p.doc_start, p.doc_end, role=side,
                                       entity_span=(p.doc_start, p.doc_end)))
    return facts


def dates(text: str) -> list[Fact]:
    """One decision date and one filing date at most: "Decided X" first; else the last "Dated: X" (an
    order's date stands under its last "IT IS SO ORDERED", after the parties' stipulation dates);
    else a date alone on its line after the caption. Filing: the first "Filed: X" / "Entered X"."""
    found: dict[str, list[Fact]] = {"decided": [], "dated": [], "filed": []}
    group = {"decided": "decided", "dated": "dated", "issued": "dated", "filed": "filed", "entered": "filed"}
    for m in _DECIDED.finditer(text):
        g = group.get(m.group("w").lower())
        if g is None:
            continue
        dm = find_dates(text, m.end(), min(len(text), m.end() + 40))
        if dm and dm[0].start - m.end() <= 3:
            d = dm[0]
            kind = "filing_date" if g == "filed" else "decision_date"
            found[g].append(span_fact(text, kind, m.start(), d.end, value=text[d.start:d.end], normalized=d.iso))
    facts = found["filed"][:1]
    decision = found["decided"][:1] or found["dated"][-1:]
    if not decision:
        # a date alone on its line, right after the caption (Indiana's "May 4, 2005")
        for d in find_dates(text, 0, min(len(text), HEAD)):
            line_s, line_e = _line_start(text, d.start), text.find("\n", d.end)
            line_e = len(text) if line_e < 0 else line_e
            if text[line_s:d.start].strip() == "" and text[d.end:line_e].strip() in ("", ".") and \
                    re.search(r"(?i)\bv\.|\bvs\.|versus|appeal|rehearing|certiorari", text[max(0, d.start - 600):d.start]):
                decision = [span_fact(text, "decision_date", d.start, d.end, normalized=d.iso)]
                break
    return facts + decision


def dispositions(text: str) -> list[Fact]:
    facts = []
    seen = set()
    for m in _DISPOSITION.finditer(text):
        word = (m.group("caps") or m.group("we") or m.group("title") or m.group("is")).lower()
        normal = _DISP_NORMAL.get(word, word)
        if m.group("caps"):
            # a heading of a cited case or a quoted word in capitals inside a longer capitals line is no disposition
            line_s = _line_start(text, m.start())
            line_e = text.find("\n", m.end())
            line = text[line_s: len(text) if line_e < 0 else line_e]
            if re.search(r"[a-z]", line) and not re.search(r"(?i)\b(?:is|are|be|hereby|is\s+hereby|we)\s+$",
                                                           text[max(line_s, m.start() - 25):m.start()]):
                continue
        if m.group("is") and not re.search(r"(?i)\b(?:judgment|decision|order|conviction|sentence|ruling|motion|"
                                           r"petition|application|request|appeal|case)\b[^.;]{0,160}$",
                                           text[max(0, m.start() - 200):m.start()]):
            continue  # "... is denied" of something other than what the court decides on
        if normal in seen:
            continue
        seen.add(normal)
        facts.append(span_fact(text, "disposition", m.start(), m.end(), normalized=normal))
        if m.group("we"):  # "we REVERSE and remand", "we vacate and remand"
            more = _AND_DISPOSITION.match(text, m.end())
            if more:
                word = more.group("w").lower()
                normal = _DISP_NORMAL.get(word, word)
                if normal not in seen:
                    seen.add(normal)
                    facts.append(span_fact(text, "disposition", m.start(), more.end(), normalized=normal))
    return facts


def extract(text: str, mentions: list[Mention]) -> tuple[list[Fact], list[Mention]]:
    """Every court-document fact of ``text`` (unverified) and the mentions added for names no mention covered."""
    added: list[Mention] = []
    facts = courts(text, mentions, added) + dockets(text, mentions) + parties(text, mentions, added)
    facts += judges(text, mentions, added) + counsel(text, mentions, added) + dates(text) + dispositions(text)
    for f in facts:
        f.extractor = "rules"
    return facts, added
