"""Categorization: explainable, weighted rules over a document's heading and a few global cues.

How it decides:

* ``kind`` ``eml``/``msg`` (or e-mail headers in ``meta``) -> correspondence at once;
  ``kind == "audio"`` -> transcript (a recording's transcription).
* Otherwise every category collects weighted *cues*. Most are looked for in the *head* (the first
  3000 characters: caption and title); a few cheap ones scan the first 15000 and the last 6000
  characters (``IN WITNESS WHEREOF``, ``IT IS SO ORDERED``, ``Q.``/``A.`` lines, ``concur``), so the
  cost is bounded whatever the document's length.
* *Heading lines* are the head's upper-case lines. In each, the first document-type word decides
  what the line names: ``ORDER DENYING MOTION TO DISMISS`` is an order, ``MOTION FOR PROTECTIVE
  ORDER`` a motion (brief), ``MEMORANDUM OPINION AND ORDER`` an opinion, ``ANSWER TO COMPLAINT`` a
  pleading, ``WEB SITE HOSTING AGREEMENT`` a contract, ``EXHIBIT A`` (in the top 3 lines) an exhibit.
* The category with the highest total wins if it reaches :data:`MIN_SCORE`; the reason names the
  winner's strongest cues. Below that, or on a tie, the result is ``other`` with reason
  ``no rule matched`` (plus what was tied). ``score`` is ``best / (best + runner-up)``: 1.0 when
  no other category had a cue, 0.5 on a near tie.

Every rule is a line in :data:`_CUES` or :data:`_HEADING_WORDS`, so a surprising result can be
traced to the cue named in its reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lexprep.models import Category, CategoryResult

__all__ = ["categorize", "HEAD_CHARS", "MIN_SCORE"]

#: characters of the document's start treated as its heading/caption
HEAD_CHARS = 3000
#: characters scanned for the medium-range cues (author lines, panel, per curiam)
BODY_CHARS = 15000
#: characters at the end scanned (with the first BODY_CHARS) for closing cues (signatures, decretal
#: language, Q./A. lines): so the cost of categorizing is bounded whatever the document's length
TAIL_CHARS = 6000
#: the best category needs at least this score, else ``other``
MIN_SCORE = 3.0

_C = Category


@dataclass(frozen=True, slots=True)
class _Cue:
    category: Category
    weight: float
    reason: str
    pattern: re.Pattern[str]
    scope: str = "head"  # head (first HEAD_CHARS) | body (first BODY_CHARS) | ends (body + last TAIL_CHARS)
    min_count: int = 1


def _cue(category: Category, weight: float, reason: str, pattern: str, scope: str = "head",
         flags: int = re.M, min_count: int = 1) -> _Cue:
    return _Cue(category, weight, reason, re.compile(pattern, flags), scope, min_count)


_I = re.I | re.M
# Patterns start with a literal where they can (no leading \b, no re.I): Python's re then skips
# ahead with a fast substring scan instead of trying the pattern at every position.
_CUES: tuple[_Cue, ...] = (
    # --- opinion
    _cue(_C.opinion, 5, "'(Slip Opinion)'", r"\(Slip Opinion\)|\(SLIP OPINION\)"),
    _cue(_C.opinion, 4, "'Argued ... Decided'", r"(?:Argued|ARGUED)\b[^\n]{0,80}?\b(?:Decided|DECIDED)\b"),
    _cue(_C.opinion, 3, "'Opinion of the Court'", r"Opinion of the Court|OPINION OF THE COURT"),
    _cue(_C.opinion, 4, "'delivered the opinion'", r"delivered the opinion", scope="body"),
    _cue(_C.opinion, 4, "'Per Curiam'", r"(?:PER CURIAM|Per Curiam)(?![a-z])(?!\))", scope="body"),
    _cue(_C.opinion, 4, "author line 'NAME, Judge.'",
         r"^[A-Z][A-Za-z'.\- ]{1,40}, (?:(?:Chief|Senior|Circuit|District|Associate|Presiding|Senior Circuit)"
         r" )?(?:Judge|Justice|J)\.(?=\s)", scope="body"),
    _cue(_C.opinion, 2, "'Before ... Circuit Judges'", r"^[ \t]*Before\b[\s\S]{0,200}?\bJudges\b"),
    _cue(_C.opinion, 2, "'we affirm/reverse' or 'AFFIRMED'",
         r"(?:we (?:affirm|reverse|vacate|remand)|AFFIRMED|REVERSED|VACATED)\b", scope="ends"),
    _cue(_C.opinion, 2, "'J., concur'", r"J\.,? (?:concur|dissent)", scope="ends"),
    _cue(_C.opinion, 1, "appellate/supreme court caption",
         r"(?:Court of Appeals|Supreme Court|Court of Criminal Appeals|Appellate Division)\b", flags=_I),
    # --- order
    _cue(_C.order, 3, "'IT IS ORDERED'", r"IT IS (?:HEREBY |FURTHER |SO )?ORDERED\b", scope="ends"),
    _cue(_C.order, 1, "'SO ORDERED'", r"(?:SO ORDERED|So ordered|So Ordered)\b", scope="ends"),
    # --- brief (briefs and motions)
    _cue(_C.brief, 2, "'Respectfully submitted'", r"(?:Respectfully|RESPECTFULLY) (?:submitted|SUBMITTED)",
         scope="ends"),
    _cue(_C.brief, 2, "'TABLE OF AUTHORITIES'", r"TABLE OF AUTHORITIES|Table of Authorities", scope="body"),
    _cue(_C.brief, 2, "'SUMMARY OF (THE) ARGUMENT'", r"SUMMARY OF (?:THE )?ARGUMENT\b", scope="ends"),
    _cue(_C.brief, 1, "'CERTIFICATE OF COMPLIANCE'", r"CERTIFICATE OF COMPLIANCE|Certificate of Compliance",
         scope="ends"),
    _cue(_C.brief, 1, "'Counsel for <party>'",
         r"\b(?:Counsel|Attorneys?) for (?:the )?(?:Plaintiffs?|Defendants?|Appellants?|Appellees?|Petitioners?"
         r"|Respondents?)[-\u2013 ]*(?:Appellants?|Appellees?)?\b", flags=_I),
    # --- pleading
    _cue(_C.pleading, 2, "'DEMAND FOR JURY TRIAL'",
         r"(?:DEMAND FOR JURY TRIAL|JURY TRIAL DEMANDED|Demand for Jury Trial|Jury Trial Demanded)", scope="ends"),
    _cue(_C.pleading, 2, "'PRAYER FOR RELIEF'", r"(?:PRAYER FOR RELIEF|Prayer for Relief|WHEREFORE, Plaintiff)",
         scope="ends"),
    _cue(_C.pleading, 2, "'CAUSE OF ACTION'/'COUNT I'", r"CAUSE OF ACTION\b|COUNT (?:I|ONE|1)\b", scope="ends"),
    _cue(_C.pleading, 2, "'Plaintiff ... alleges'", r"\bPlaintiffs?\b[^\n.]{0,80}\b(?:allege|alleges|complains?)\b",
         flags=_I),
    _cue(_C.pleading, 4, "'THE GRAND JURY CHARGES'", r"THE GRAND JURY CHARGES|The Grand Jury charges"),
    # --- contract
    _cue(_C.contract, 3, "'entered into ... by and between'", r"by and between\b|BY AND BETWEEN\b"),
    _cue(_C.contract, 2, "'WHEREAS'", r"^[ \t]*WHEREAS\b"),
    _cue(_C.contract, 2, "'WITNESSETH'", r"WITNESSETH|Witnesseth"),
    _cue(_C.contract, 3, "'IN WITNESS WHEREOF'", r"IN WITNESS WHEREOF|In Witness Whereof|In witness whereof",
         scope="ends"),
    _cue(_C.contract, 2, "'the parties agree'",
         r"\b(?:(?:the )?parties (?:hereto )?(?:hereby )?agree|hereby agree|agree as follows|NOW,? THEREFORE)\b",
         flags=_I),
    _cue(_C.contract, 1, "'\"X\" shall mean'", r"\" shall mean\b"),
    # --- correspondence
    _cue(_C.correspondence, 6, "e-mail header block (From:/To:/Subject:)",
         r"^(?:From|To|Sent|Date|Subject|Cc):[ \t]*\S", min_count=3),
    _cue(_C.correspondence, 3, "salutation 'Dear ...'", r"^[ \t]*Dear (?:Mr|Ms|Mrs|Dr|Judge|Counsel|Sir|[A-Z])"),
    _cue(_C.correspondence, 2, "complimentary close ('Sincerely,')",
         r"(?:Sincerely|Very truly yours|Yours (?:truly|sincerely|faithfully)|Best regards|Kind regards"
         r"|Respectfully yours|SINCERELY|VERY TRULY YOURS),?[ \t]*$", scope="ends"),
    _cue(_C.correspondence, 1, "'Re:' line", r"^[ \t]*(?:Re|RE):[ \t]+\S"),
    # --- transcript
    _cue(_C.transcript, 6, "'REPORTER'S TRANSCRIPT'",
         r"\b(?:REPORTER'?S TRANSCRIPT|TRANSCRIPT OF (?:PROCEEDINGS|HEARING|TRIAL|DEPOSITION|RECORDING))\b", flags=_I),
    _cue(_C.transcript, 5, "'DEPOSITION OF'", r"DEPOSITION OF\b"),
    _cue(_C.transcript, 5, "Q./A. question-and-answer lines",
         r"^[ \t]*Q[.:][ \t][^\n]*\n(?:[^\n]*\n){0,4}?[ \t]*A[.:][ \t]", scope="ends", min_count=3),
    _cue(_C.transcript, 4, "'THE COURT:' speaker lines", r"THE COURT:", scope="ends", min_count=2),
    _cue(_C.transcript, 3, "'THE WITNESS:' speaker lines", r"THE WITNESS:", scope="ends", min_count=2),
    _cue(_C.transcript, 3, "'MR./MS. NAME:' speaker lines", r"^[ \t]*M(?:R|S|RS)\. [A-Z]+:", scope="ends",
         min_count=3),
    _cue(_C.transcript, 2, "court reporter certificate",
         r"(?:Certified Shorthand Reporter|Official Court Reporter|Court Reporter|COURT REPORTER|CSR No)",
         scope="ends"),
)

#: heading words -> category, in priority order when two start at the same place
_HEADING_WORDS: tuple[tuple[str, Category, float, str], ...] = (
    (r"PETITION FOR (?:A )?(?:PANEL )?(?:REHEARING|REVIEW|(?:A )?WRIT OF CERTIORARI)", _C.brief, 5, "PETITION FOR REHEARING/CERTIORARI"),
    (r"(?:MEMORANDUM )?OPINION", _C.opinion, 4, "OPINION"),
    (r"MOTION", _C.brief, 5, "MOTION"),
    (r"BRIEF", _C.brief, 5, "BRIEF"),
    (r"OPPOSITION", _C.brief, 4, "OPPOSITION"),
    (r"MEMORANDUM OF (?:POINTS|LAW)|POINTS AND AUTHORITIES", _C.brief, 4, "MEMORANDUM OF POINTS AND AUTHORITIES"),
    (r"ORDER", _C.order, 5, "ORDER"),
    (r"JUDGMENT", _C.order, 4, "JUDGMENT"),
    (r"(?:CROSS-)?COMPLAINT", _C.pleading, 5, "COMPLAINT"),
    (r"ANSWER", _C.pleading, 4, "ANSWER"),
    (r"INDICTMENT", _C.pleading, 5, "INDICTMENT"),
    (r"COUNTERCLAIMS?", _C.pleading, 4, "COUNTERCLAIM"),
    (r"PETITION", _C.pleading, 4, "PETITION"),
    (r"TRANSCRIPT", _C.transcript, 5, "TRANSCRIPT"),
    (r"AGREEMENT|CONTRACT|MEMORANDUM OF UNDERSTANDING|LEASE|PROMISSORY NOTE", _C.contract, 4, "AGREEMENT"),
)
_HEADING_RE = re.compile(
    r"(?<![A-Z])(?:" + "|".join(f"(?P<h{i}>{p})" for i, (p, *_rest) in enumerate(_HEADING_WORDS)) + r")(?![A-Z])"
)
_EXHIBIT_LINE = re.compile(r"^(?:EXHIBIT|Exhibit|ATTACHMENT|APPENDIX)\s+[A-Z0-9][\w.\-]{0,8}\s*$")
_TITLE_CONTRACT = re.compile(r"\b(?:AGREEMENT|CONTRACT|LEASE)\b", re.I)
_TITLE_EXHIBIT = re.compile(r"\bexhibit\b", re.I)
_LETTERS = re.compile(r"[A-Za-z]")
_EMAIL_KINDS = frozenset({"eml", "msg", "email", "mbox"})


def _heading_lines(head: str) -> list[str]:
    """The head's upper-case lines (>= 3 letters, >= 80 % of them upper case)."""
    out = []
    for line in head.split("\n"):
        letters = _LETTERS.findall(line)
        if len(letters) < 3:
            continue
        upper = sum(1 for c in letters if c.isupper())
        if upper >= 0.8 * len(letters):
            out.append(line.strip())
    return out


def _score(text: str, file_name: str, meta: Mapping[str, Any]) -> dict[Category, list[tuple[float, str]]]:
    head = text[:HEAD_CHARS]
    body = text[:BODY_CHARS]
    ends = text if len(text) <= BODY_CHARS + TAIL_CHARS else body + "\n" + text[-TAIL_CHARS:]
    scopes = {"head": head, "body": body, "ends": ends}
    found: dict[Category, list[tuple[float, str]]] = {}

    def add(cat: Category, weight: float, reason: str) -> None:
        found.setdefault(cat, []).append((weight, reason))

    for cue in _CUES:
        target = scopes[cue.scope]
        if cue.min_count <= 1:
            if cue.pattern.search(target):
                add(cue.category, cue.weight, cue.reason)
        else:
            n = 0
            for _ in cue.pattern.finditer(target):
                n += 1
                if n >= cue.min_count:
                    add(cue.category, cue.weight, cue.reason)
                    break

    # heading lines: the first document-type word in each line names what the line is
    seen: set[Category] = set()
    for line in _heading_lines(head):
        m = _HEADING_RE.search(line)
        if not m:
            continue
        idx = int(m.lastgroup[1:])  # type: ignore[index]
        _, cat, weight, label = _HEADING_WORDS[idx]
        if cat in seen:
            continue
        seen.add(cat)
        add(cat, weight, f"heading has '{label}'")

    # an EXHIBIT heading in the top 3 non-empty lines
    top = [ln.strip() for ln in head.split("\n", 12) if ln.strip()][:3]
    if any(_EXHIBIT_LINE.match(ln) for ln in top):
        add(_C.exhibit, 4, "'EXHIBIT' heading at the top")

    title = " ".join(str(x) for x in (meta.get("title") or "", file_name or ""))
    if _TITLE_CONTRACT.search(title):
        add(_C.contract, 2, "title/file name has 'AGREEMENT'/'CONTRACT'")
    if _TITLE_EXHIBIT.search(title):
        add(_C.exhibit, 2, "title/file name has 'exhibit'")
    return found


def categorize(text: str, kind: str = "", meta: Mapping[str, Any] | None = None, file_name: str = "") -> CategoryResult:
    """Decide a document's category (a :class:`~lexprep.models.Category` value) and say why.

    Args:
        text: the document's cleaned text (only its first 3000 characters and a few cheap global
            patterns are looked at, so cost is linear and small).
        kind: the sniffed format (``eml``/``msg`` -> correspondence, ``audio`` -> transcript).
        meta: format metadata (e-mail headers, PDF ``title`` ...).
        file_name: the file's base name (a title cue when it says ``AGREEMENT``/``CONTRACT``/``exhibit``).

    Returns:
        CategoryResult(category, one-line reason naming the rule(s) that fired, score in 0..1).
        Never raises.
    """
    meta = meta or {}
    kind = (kind or "").lower()
    if kind in _EMAIL_KINDS:
        return CategoryResult(_C.correspondence.value, f"e-mail format (kind={kind})", 1.0)
    if meta.get("message_id") or (meta.get("from") and meta.get("subject") is not None):
        return CategoryResult(_C.correspondence.value, "e-mail headers in metadata", 1.0)
    if kind == "audio":
        return CategoryResult(_C.transcript.value, "recording (kind=audio): a transcription", 1.0)

    text = (text or "").replace("\r\n", "\n")
    found = _score(text, file_name, meta)
    totals = sorted(((sum(w for w, _ in cues), cat) for cat, cues in found.items()), key=lambda t: -t[0])
    if not totals or totals[0][0] < MIN_SCORE:
        return CategoryResult(_C.other.value, "no rule matched", 0.0)
    best, cat = totals[0]
    runner = totals[1][0] if len(totals) > 1 else 0.0
    if runner == best:
        tied = [c.value for s, c in totals if s == best]
        return CategoryResult(_C.other.value, f"no rule matched (tie between {' and '.join(tied)})", 0.5)
    cues = sorted(found[cat], key=lambda t: -t[0])
    named = " and ".join(r for _, r in cues[:3])
    more = f" (+{len(cues) - 3} more)" if len(cues) > 3 else ""
    reason = f"{named}{more}; score {best:g}"
    if runner:
        second = totals[1][1].value
        reason += f" vs {second} {runner:g}"
    return CategoryResult(cat.value, reason, round(best / (best + runner), 3))
