"""Case and statute citations, read the way a lawyer reads them, with eyecite (Free Law Project,
https://github.com/freelawproject/eyecite).

One ``get_citations`` call per *document* (not per chunk: "Id." and "supra" point back across
pages), over the cleaned text with its soft line breaks joined (every ``\\n``, ``\\r``, ``\\f``,
``\\t`` becomes a space: same length, so offsets map 1:1 back to the cleaned text and "197\\nU.S. 11"
is one citation). Then ``eyecite.resolve.resolve_citations`` within the document, with two fallbacks
where eyecite leaves a short form unresolved: "Id." stands for the immediately preceding authority,
and "X, supra" for the earlier full case citation whose case name holds X.

What becomes a mention (one per document span; ``attrs`` carries what resolution needs):

- a full case citation with its parallel citations (eyecite reports each parallel citation of one
  case as its own FullCaseCitation sharing one full span) -> one CASE mention spanning case name,
  citations and the court/year parenthetical. ``normalized`` is the first citation without pin cite
  ("410 U.S. 113"); ``attrs``: ``case_name`` ("Roe v. Wade"), ``parenthetical`` ("(1973)"),
  ``pin_cite`` ("120"), ``parallel`` (["93 S. Ct. 705", ...]).
- a short cite ("Roe, 410 U.S., at 120"), "Id.", "supra", a reference ("Roe at 240") -> a mention
  linked to the full citation it stands for (``link_method`` ``short_cite``, ``id_cite``,
  ``supra``, ``reference``), with its own ``pin_cite``. One that cannot be resolved inside the
  document stays a CASE mention of document scope (short cite) or is dropped ("Id."/"supra" with no
  antecedent name nothing).
- "Id. § 1292(a)(1)" after "28 U.S.C. § 1291" -> a LAW mention of "28 U.S.C. § 1292(a)(1)" (the
  same code, another section), not a link to § 1291.
- a full law citation -> LAW (``normalized``: eyecite's corrected form; for codes with a subject,
  "Cal. Civ. Proc. Code", the matched text, since eyecite's corrected form drops the subject).
- a bare section reference ("§ 5.05(a)") -> LAW, except in a contract, where it is a cross
  reference to the contract's own sections and not a mention.
- a journal citation -> OTHER (secondary authority).
- record and appendix cites ("1 App. 24": eyecite reads it as Ohio Appeals) without case name or
  year are not cases: dropped.

Speed: eyecite's cost grows faster than its text, so a long document is read in windows of
EYECITE_WINDOW characters with a margin (a citation belongs to the window where it starts) and the
short forms are resolved over the whole document's list: a 30-page opinion in about 0.1 s. ``MAYBE_CITATION`` skips texts that cannot
hold a citation (no digit, no "§", no "id"/"ibid"/"supra").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

#: a text without any of these cannot contain an eyecite citation (volumes, pages, sections, Id., supra)
MAYBE_CITATION = re.compile(r"\d|§|\b(?:id|ibid|supra)\b", re.IGNORECASE)
_TRAIL = " \t\r\n,;:"
_SOFT_BREAKS = str.maketrans({"\n": " ", "\r": " ", "\f": " ", "\t": " ", "\v": " "})
#: reporters that, with no case name and no year, are record or appendix cites ("1 App. 24")
RECORD_REPORTERS = frozenset({"App.", "R.", "Tr.", "J.A.", "Pet. App."})
#: words eyecite may take into a plaintiff's name from the sentence before it ("Later, Smith")
_LEAD_WORDS = re.compile(
    r"^(?:(?:see|also|accord|cf|compare|contra|but|e\.g|later|thus|accordingly|however|similarly|indeed|"
    r"moreover|further|furthermore|and|or|in|under|as|because|since|after|before|citing|quoting)\b[.,]?\s+)+",
    re.IGNORECASE,
)
_CASE_NAME = re.compile(r"\sv\.?\s|\svs\.?\s|^In re\b|^Ex parte\b|^Matter of\b|^In the Matter\b|^Estate of\b")
_SENTENCE_STOP = re.compile(r"(?<!\bv)(?<!\bvs)(?<!\b[A-Z])(?<!\bCo)(?<!\bInc)(?<!\bCorp)(?<!\bDept)(?<!\bNo)(?<!\bSt)"
                            r"\.[ \t\n]+|;[ \t\n]+")
_YEAR_PAREN = re.compile(r"([,\s]*)\(([^()]{0,60}?\b(?:1[6-9]\d\d|20\d\d))\)")
#: capitalised words joined by "&", "of" or "and" right before where eyecite's case name starts
_NAME_CONTINUES = re.compile(r"(?:(?-i:[A-Z])[\w.'’-]*\s+)+(?:&|and|of|the)\s+$")
#: what may stand between parallel citations of one case: punctuation and the previous one's pin cite
_BETWEEN_PARALLEL = re.compile(r"[\s,;\[\]()]*(?:(?:at\s+)?[\d*][\d\-–—,\s n.*]*)?[\s,;\[\]()]*")
_LAW_TAIL = re.compile(r"(?:\([A-Za-z0-9]{1,4}\))*(?:,?\s*\((?:[A-Z][\w.]*\s*)*(?:1[6-9]\d\d|20\d\d)\))?")
_STAT_AFTER = re.compile(r"\s+Stat\.\s+\d+")
_ID_SECTION = re.compile(r"[\s,]*(?:at\s+)?(§§?\s*[0-9][0-9A-Za-z.\-:]*(?:\([0-9A-Za-z]{1,4}\))*)")

_log = logging.getLogger(__name__)
# eyecite logs "Unknown overlap case" warnings that quote document text; document text is not to be
# logged at INFO or above, so its warnings are raised to ERROR unless the caller configured it.
_eyecite_log = logging.getLogger("eyecite")
if _eyecite_log.level == logging.NOTSET:
    _eyecite_log.setLevel(logging.ERROR)


@dataclass(slots=True)
class Citation:
    """One citation mention in a document.

    Attributes:
        kind: eyecite's class name (``FullCaseCitation`` ...), for a parallel group the first's.
        label: CASE, LAW or OTHER.
        start, end: the mention span (character offsets in the text).
        normalized: the citation's key without pin cite, or None for a linked short form.
        link: the (start, end) of the citation this one stands for, or None.
        link_method: ``short_cite``, ``id_cite``, ``supra``, ``reference`` or None.
        scope: ``matter`` or ``document`` (an unresolved short cite).
        attrs: ``case_name``, ``parenthetical``, ``pin_cite``, ``parallel``, ``reporter``.
    """

    kind: str
    label: str
    start: int
    end: int
    normalized: str | None
    link: tuple[int, int] | None = None
    link_method: str | None = None
    scope: str = "matter"
    attrs: dict = field(default_factory=dict)


def _clean(s: str) -> str:
    return " ".join(s.split()).rstrip(_TRAIL)


def _law_normalized(c) -> str:
    if (c.groups or {}).get("subject"):
        return _clean(c.matched_text())
    return _clean(c.corrected_citation())


_SIGNALS = frozenset("see cf. cf also accord but e.g., e.g. compare with and contra".split())
_NAME_TOKEN = re.compile(r"(?:[A-Z][\w'’.,&-]*|&|of|the|and|de|la|del|der|van|von|du|ex|rel\.|d/b/a)$")


def _name_before_v(joined: str, start: int) -> int:
    """Where a case name eyecite cut after "v." really starts: "Fidelity Fed. Sav. & Loan Assn. v. De la
    [Cuesta], 458 U. S. 141" -> the plaintiff's first word (name-like words back to a citation signal or
    the sentence's punctuation)."""
    m = re.search(r"\s(?:v|vs)\.\s+(?:[\w'’.-]+\s+){0,3}$", joined[max(0, start - 60):start])
    if not m:
        return start
    vpos = max(0, start - 60) + m.start()
    head = joined[max(0, vpos - 160):vpos]
    tokens = list(re.finditer(r"\S+", head))
    first = None
    for t in reversed(tokens):
        w = t.group(0)
        if w.casefold() in _SIGNALS or w[-1] in ";:(" or not _NAME_TOKEN.match(w) or \
                (w.endswith(".") and w[:-1].islower()):
            break
        first = t
    if first is None:
        return start
    while first is not None and first.group(0) in ("&", "of", "the", "and"):
        first = next((t for t in tokens if t.start() > first.start()), None)
    return start if first is None else max(0, vpos - 160) + first.start()


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Trim surrounding whitespace, trailing ",;:", a trailing possessive and an unbalanced bracket."""
    while start < end and (text[start].isspace() or text[start] in ",;:"):
        start += 1
    while True:
        while end > start and text[end - 1] in _TRAIL:
            end -= 1
        if end - start > 2 and text[end - 1] in "sS" and text[end - 2] in "'’":
            end -= 2
            continue
        if end > start and text[end - 1] == ")" and text.count("(", start, end) < text.count(")", start, end):
            end -= 1
            continue
        if end > start and text[start] == "(" and text.count("(", start, end) > text.count(")", start, end):
            start += 1
            continue
        return start, end


def clean_case_name(plaintiff: str | None, defendant: str | None) -> str | None:
    """"Plaintiff v. Defendant" from eyecite's metadata, without words of the sentence before it."""
    if not plaintiff and not defendant:
        return None
    p = _LEAD_WORDS.sub("", " ".join((plaintiff or "").split())).strip(" ,;")
    if ", " in p:  # "Later, Smith": a lone capitalised sentence word before a comma
        head, tail = p.split(", ", 1)
        if " " not in head and tail[:1].isupper() and not re.search(r"(?i)\b(?:inc|co|corp|ltd|llc)\.?$", tail):
            p = tail
    d = " ".join((defendant or "").split()).strip(" ,;")
    if p and d:
        return f"{p} v. {d}"
    return p or d or None


def _pin(c) -> str | None:
    pin = getattr(c.metadata, "pin_cite", None)
    return " ".join(pin.split()).strip(" ,") if pin else None


#: characters eyecite reads at once (its cost grows faster than the text: 0.26 s for a 56,000-character
#: opinion whole, 0.10 s in 6,000-character windows) and the context read around each window
EYECITE_WINDOW, EYECITE_MARGIN = 6000, 400


def _shift(c, offset: int) -> None:
    """Move an eyecite citation's offsets by ``offset`` (it was found in a window of the text)."""
    s, e = c.span()
    fs, fe = c.full_span()
    c.span_start, c.span_end, c.full_span_start, c.full_span_end = s + offset, e + offset, fs + offset, fe + offset
    for attr in ("pin_cite_span_start", "pin_cite_span_end"):
        v = getattr(c.metadata, attr, None)
        if v is not None:
            setattr(c.metadata, attr, v + offset)


def _windowed_citations(joined: str, get_citations) -> list:
    """eyecite's citations of ``joined`` read window by window (lexprep.ner.windows), with offsets into
    ``joined``; a citation belongs to the window whose core holds its start. Resolution of short forms
    then runs over the whole document's list."""
    from lexprep.ner.windows import make_windows

    if len(joined) <= EYECITE_WINDOW * 1.25:
        return get_citations(joined)
    out = []
    for w in make_windows(joined, EYECITE_WINDOW, EYECITE_MARGIN):
        for c in get_citations(joined[w.start:w.end]):
            start = c.span()[0] + w.start
            if w.core_start <= start < w.core_end:
                _shift(c, w.start)
                out.append(c)
    out.sort(key=lambda c: c.span()[0])
    return out


def find_citations(text: str, contract: bool = False) -> list[Citation]:
    """Citation mentions of one document's cleaned text (see the module docstring).

    Args:
        text: the document's cleaned text.
        contract: the document is a contract (bare section references are cross references).

    Returns:
        Citations sorted by start; spans never overlap.

    Raises nothing on odd input: an eyecite failure is logged (without the text) and gives [].
    """
    if not text or not MAYBE_CITATION.search(text):
        return []
    from eyecite import get_citations
    from eyecite.resolve import resolve_citations

    joined = text.translate(_SOFT_BREAKS)
    try:
        cites = _windowed_citations(joined, get_citations)
    except Exception as exc:  # noqa: BLE001 - a library bug on one text must not fail the document
        _log.warning("eyecite failed on a text of %d chars: %r", len(text), exc)
        return []
    if not cites:
        return []
    cores = sorted(c.span() for c in cites)

    def next_start(pos: int) -> int:
        return next((s for s, _e in cores if s > pos), len(text))

    def prev_end(pos: int) -> int:
        return max((e for _s, e in cores if e <= pos), default=0)

    # ---- full case citations, grouped with their parallel citations (same full span)
    groups: list[list] = []
    for c in cites:
        if type(c).__name__ != "FullCaseCitation":
            continue
        if groups and (groups[-1][0].full_span() == c.full_span()
                       or getattr(c.metadata, "plaintiff", None) in (None, getattr(groups[-1][0].metadata, "plaintiff", None))) \
                and c.span()[0] >= groups[-1][-1].span()[1] \
                and (c.groups or {}).get("reporter") not in {(g.groups or {}).get("reporter") for g in groups[-1]} \
                and _BETWEEN_PARALLEL.fullmatch(joined[groups[-1][-1].span()[1]:c.span()[0]]):
            groups[-1].append(c)
        else:
            groups.append([c])
    out: list[Citation] = []
    span_of: dict[int, tuple[int, int]] = {}  # id(eyecite citation) -> the mention span standing for it
    names: list[tuple[str, tuple[int, int], int]] = []  # (case name, mention span, position) for supra
    last_end = 0
    for group in groups:
        first, last = group[0], group[-1]
        md = first.metadata
        case_name = clean_case_name(md.plaintiff, md.defendant)
        reporter = (first.groups or {}).get("reporter")
        full_start, full_end = first.full_span()
        core_start, core_end = first.span()[0], last.span()[1]
        bound = next_start(core_end - 1)
        start = max(min(full_start, core_start), prev_end(core_start), min(last_end, core_start))
        end = core_end
        pin_end = getattr(last.metadata, "pin_cite_span_end", None) or getattr(md, "pin_cite_span_end", None)
        if pin_end and core_end < pin_end <= bound:
            end = pin_end
        # the words before the citation, without what eyecite took in from the sentence ("and", "See")
        while start < core_start and (joined[start] in " ,;.()" or joined[start].isspace()):
            start += 1
        lead_words = _LEAD_WORDS.match(joined[start:core_start])
        if lead_words:
            start += lead_words.end()
        more = _NAME_CONTINUES.search(joined, max(0, start - 80), start)
        if more and start > 0:  # "Watchtower Bible & " + "Tract Soc'y of N.Y., Inc. v. Colombani"
            head = _LEAD_WORDS.match(joined[more.start():start])
            start = more.start() + (head.end() if head else 0)
        if re.match(r"re\s", joined[start:core_start]) and re.search(r"\((?:In|in)\s+$", joined[max(0, start - 6):start]):
            # "Quiros Lopez v. Unanue Casal (In re Unanue Casal), 998 F.2d 28": the name before the parenthesis
            window = joined[max(0, start - 220):start]
            named = re.search(r"((?-i:[A-Z])[^.;()\n]{0,100}?\sv\.\s[^;()\n]{1,100}?)\s*\((?:In|in)\s+$", window)
            if named:
                start = max(0, start - 220) + named.start(1)
        start = _name_before_v(joined, start)
        inre = re.search(r"(?<![\w.])(?:In|in)\s+re\s+$", joined[max(0, start - 10):start])
        if inre and not re.match(r"(?:In|in)\s+re\b", joined[start:core_start]):
            start = max(0, start - 10) + inre.start()  # "In re [Recticel Foam Corp.], 859 F.2d 1000"
        lead = " ".join(re.sub(r"<[^>]{0,20}>", "", joined[start:core_start]).split()).strip(" ,")
        if _CASE_NAME.search(lead) and len(lead) <= 160:
            case_name = lead  # the name as written ("Roman Catholic Diocese of Brooklyn v. Cuomo")
        if case_name and ("§" in case_name or not _CASE_NAME.search(case_name)):
            case_name = None  # eyecite took words of the sentence for a case name ("Compact §2.11")
        if not case_name and lead and re.search(r"\d", lead) and not re.match(r"(?i)(?:Nos?\.|Case|Civil|Civ\.|Docket)\s", lead):
            start = core_start  # "App. to Pet. for Cert. 72a-73a, [2009 WL 3922803]": words of the sentence
        if reporter in RECORD_REPORTERS and not (case_name and md.year):
            continue  # "1 App. 13": a record or appendix cite, not the Ohio Appellate Reports
        start, end = _strip_span(text, start, end)
        # the court-and-year parenthetical right after the citation (and pin cite); an explanatory
        # parenthetical after it ("(holding that ...)") is not part of the mention
        paren = _YEAR_PAREN.match(joined, end)
        if paren is None or paren.end() > bound + 1:
            paren = _YEAR_PAREN.search(joined, core_end, min(end + 40, bound) + 1)
        parenthetical = f"({' '.join(paren.group(2).split())})" if paren else None
        if paren and paren.end() > end and paren.end() <= bound + 1:
            end = paren.end()
        attrs = {
            "case_name": case_name,
            "parenthetical": parenthetical,
            "pin_cite": _pin(first),
            "parallel": [_clean(c.corrected_citation()) for c in group[1:]],
            "reporter": reporter,
        }
        cit = Citation("FullCaseCitation", "CASE", start, end, _clean(first.corrected_citation()),
                       attrs={k: v for k, v in attrs.items() if v})
        last_end = end
        out.append(cit)
        for c in group:
            span_of[id(c)] = (start, end)
        if case_name:
            names.append((case_name, (start, end), start))

    # ---- laws
    law_by_id: dict[int, object] = {}
    for c in cites:
        if type(c).__name__ == "FullLawCitation":
            s = c.span()[0]
            tail = _LAW_TAIL.match(joined, c.span()[1])  # subsections and a year, never an explanatory parenthetical
            e = min(tail.end() if tail else c.span()[1], next_start(c.span()[0]))
            norm = _law_normalized(c)
            stat = _STAT_AFTER.match(joined, c.span()[1])
            if stat and re.search(r",\s*\d+$", joined[c.span()[0]:c.span()[1]]):
                # "Pub. L. 96-564, 94" + " Stat. 3305": the Statutes at Large cite eyecite cut in two
                e = max(e, stat.end())
                norm = _clean(f"{norm} {' '.join(stat.group(0).split())}")
            s, e = _strip_span(text, s, e)
            out.append(Citation("FullLawCitation", "LAW", s, e, norm, attrs={
                k: v for k, v in {"pin_cite": _pin(c)}.items() if v}))
            span_of[id(c)] = (s, e)
            law_by_id[id(c)] = c
    laws = [x for x in out if x.kind == "FullLawCitation"]
    for inner in laws:  # "94 Stat. 3305" inside "Pub. L. 96-564, 94 Stat. 3305": one mention, one authority
        outer = next((x for x in laws if x is not inner and x.start <= inner.start and inner.end <= x.end
                      and (x.end - x.start) > (inner.end - inner.start)), None)
        if outer is not None:
            out.remove(inner)
            for key, sp in list(span_of.items()):
                if sp == (inner.start, inner.end):
                    span_of[key] = (outer.start, outer.end)

    # ---- eyecite's own resolution of short forms
    resolved: dict[int, object] = {}
    try:
        resolutions = resolve_citations(cites)
    except Exception:  # noqa: BLE001 - resolution is a refinement; fall back to our own
        resolutions = {}
    for resource, members in resolutions.items():
        full = getattr(resource, "citation", None)
        if full is None:
            continue
        for m in members:
            if m is not full:
                resolved[id(m)] = full

    # ---- short forms, in document order; "previous" is the last authority cited before each
    taken = sorted((c.start, c.end) for c in out)
    previous: object | None = None
    interrupted = False  # a bare section or a record cite came after ``previous``
    order = sorted(cites, key=lambda c: c.span()[0])
    skip: set[int] = set()
    for i, c in enumerate(order):
        kind = type(c).__name__
        if id(c) in span_of:
            previous, interrupted = c, False
            continue
        if id(c) in skip:
            continue
        core_start, core_end = c.span()
        if any(s <= core_start < e for s, e in taken):
            continue  # inside a full citation's span (a parallel cite, an overrun)
        if kind == "UnknownCitation" or kind.startswith("Full"):
            # a bare section ("Compact §5.05(b)(1)") or a record cite ("1 App. 22") after a case: an "Id."
            # that follows stands for that, not for the case (eyecite resolves it to nothing)
            interrupted = True
        full = resolved.get(id(c))
        if kind == "IdCitation":
            target = full or previous
            if full is None and interrupted and previous is not None and id(previous) not in law_by_id:
                # "Texas v. Oklahoma ... Compact §5.05(b)(1). Id., at 25": not the case; the section's own law
                # is not known here (the last statute cited may be another), so no link at all
                target = None
            if target is None:
                continue
            start, end = _strip_span(text, core_start, max(core_end, c.full_span()[1]))
            if id(target) in law_by_id:
                sect = _ID_SECTION.match(joined, core_end)
                if sect and (nxt := order[i + 1] if i + 1 < len(order) else None) is not None \
                        and type(nxt).__name__ == "UnknownCitation" and nxt.span()[0] < sect.end():
                    skip.add(id(nxt))
                if sect:
                    groups_ = target.groups or {}
                    code = " ".join(x for x in (groups_.get("title"), groups_.get("reporter")) if x)
                    section = " ".join(sect.group(1).replace("§§", "§").split())
                    section = section if section.startswith("§ ") else section.replace("§", "§ ", 1)
                    end = sect.end()
                    out.append(Citation("IdCitation", "LAW", start, end, f"{code} {section}".strip(),
                                        attrs={"id_of": _law_normalized(target)}))
                    taken.append((start, end))
                    previous, interrupted = c, False
                    continue
            link = span_of.get(id(target))
            if link is None:
                continue
            label = "LAW" if id(target) in law_by_id else "CASE"
            out.append(Citation("IdCitation", label, start, end, None, link, "id_cite",
                                attrs={k: v for k, v in {"pin_cite": _pin(c)}.items() if v}))
            taken.append((start, end))
            span_of[id(c)] = link
            continue
        if kind in ("ShortCaseCitation", "SupraCitation", "ReferenceCitation"):
            s, e = c.full_span()
            start = max(min(s, core_start), prev_end(core_start))
            # the sentence's start: a ". " that ends no abbreviation ("Alabama v. North Carolina", "U. S.", "Co.")
            stops = [m.end() for m in _SENTENCE_STOP.finditer(joined, start, core_start)]
            if stops:
                start = stops[-1]
            start, end = _strip_span(text, start, max(core_end, min(e, next_start(core_start))))
            target = full
            if target is None and kind == "SupraCitation":
                guess = (getattr(c.metadata, "antecedent_guess", None) or "").strip(" ,").casefold()
                if guess:
                    hits = [sp for name, sp, pos in names if pos < core_start and re.search(
                        rf"\b{re.escape(guess)}\b", name.casefold())]
                    if hits:
                        out.append(Citation(kind, "CASE", start, end, None, hits[-1], "supra",
                                            attrs={k: v for k, v in {"pin_cite": _pin(c)}.items() if v}))
                        taken.append((start, end))
                        previous, interrupted = c, False
                        continue
            link = span_of.get(id(target)) if target is not None else None
            method = {"ShortCaseCitation": "short_cite", "SupraCitation": "supra", "ReferenceCitation": "reference"}[kind]
            if link is not None:
                out.append(Citation(kind, "CASE", start, end, None, link, method,
                                    attrs={k: v for k, v in {"pin_cite": _pin(c)}.items() if v}))
                span_of[id(c)] = link
            elif kind == "ShortCaseCitation":  # a case whose full citation is not in this document
                g = c.groups or {}
                out.append(Citation(kind, "CASE", start, end, _clean(f"{g.get('volume', '')} {g.get('reporter', '')}"),
                                    scope="document", attrs={k: v for k, v in {"pin_cite": _pin(c)}.items() if v}))
            else:
                continue
            taken.append((start, end))
            previous, interrupted = c, False
            continue
        if kind == "FullJournalCitation":
            s, e = _strip_span(text, *c.full_span())
            out.append(Citation(kind, "OTHER", s, e, _clean(c.corrected_citation())))
            taken.append((s, e))
            continue
        if kind == "UnknownCitation":  # "§5.05(a)"; a bare "§§" eyecite could not parse is nothing
            s, e = _strip_span(text, core_start, core_end)
            while e > s and (text[e - 1] in ".]" and text.count("[", s, e) < text.count("]", s, e) or text[e - 1] == "."):
                e -= 1
            norm = _clean(text[s:e])
            if contract or not any(ch.isdigit() for ch in norm):
                continue
            out.append(Citation(kind, "LAW", s, e, norm))
            taken.append((s, e))
    # one mention per span: drop later citations overlapping earlier ones
    out.sort(key=lambda c: (c.start, -(c.end - c.start)))
    final: list[Citation] = []
    for c in out:
        if c.end <= c.start:
            continue
        if final and c.start < final[-1].end:
            prev = final[-1]
            if prev.kind == c.kind == "FullCaseCitation" and c.normalized and c.normalized != prev.normalized:
                # a parallel citation whose span eyecite reads apart ("(2009) 1 U.S. 1 [92 Cal.Rptr.3d 784]")
                par = prev.attrs.setdefault("parallel", [])
                for n in (c.normalized, *c.attrs.get("parallel", [])):
                    if n not in par and n != prev.normalized:
                        par.append(n)
            continue
        final.append(c)
    return final
