"""Case and statute citations with eyecite (Free Law Project, https://github.com/freelawproject/eyecite).

One ``get_citations`` call per text (no cleaning: lexprep.text has already cleaned it, and cleaning
would move the offsets), then ``eyecite.resolve.resolve_citations`` within the same text so that
short forms, "Id." and "supra" carry the normalized citation of the full citation they point to.

Mapping (eyecite class -> label, ``source_label`` keeps the class name):

- FullCaseCitation -> CASE. Span: from ``full_span()[0]`` (the case name, where eyecite finds one:
  "Roe v. Wade, 410 U.S. 113") to the end of the citation proper, extended over the pin cite and
  the year/court parenthetical (``full_span()[1]``) unless that would run into the next citation
  (eyecite 2.7.8's full-span end can overrun into the following sentence's citation).
  ``core_start`` marks where the citation proper begins, so the parties' names inside stay
  mentions of their own (see lexprep.ner.merge).
- ShortCaseCitation -> CASE ("Roe, 410 U.S., at 120": antecedent included via ``full_span``).
- ReferenceCitation ("Roe at 240") -> CASE: eyecite only emits it after a full case citation.
- SupraCitation -> CASE (supra points to a case or an article named earlier; resolved when eyecite
  can, otherwise normalized is None and resolution keys it by its text).
- IdCitation -> the label of the citation it resolves to (CASE or LAW) with that citation's
  normalized form; an "Id." eyecite cannot resolve in its text -> OTHER (kept, never dropped).
- FullLawCitation -> LAW, span ``full_span()`` (includes a pin cite such as "(b)(7)").
- FullJournalCitation -> OTHER (secondary authority: neither a statute nor a case).
- UnknownCitation (a bare "§5.05(a)" section reference) -> LAW: in legal text a section sign cites
  a provision of a statute, regulation, rule or the governing instrument. One without any digit
  (a lone "§§" left over where eyecite failed to parse "15 U.S.C. §§ 78j(b)") -> OTHER.

``normalized``: ``corrected_citation()`` ("200 U. S. 321" -> "200 U.S. 321"); resolved short
forms, Id., supra and references get their full citation's. For law citations whose reporter has a
subject ("Cal. Civ. Proc. Code") eyecite's corrected form drops the subject ("Cal. Code § 425.16"),
so the matched text is used instead. Spans are trimmed of surrounding whitespace, trailing ",;:"
and a trailing possessive "’s".

Speed: eyecite costs about 2 ms per 2,000-character chunk (~7 % of NER time on a born-digital
opinion). ``MAYBE_CITATION`` skips texts that cannot hold a citation (no digit, no "§", no
"id"/"ibid"/"supra"): every eyecite citation form needs one of these, so nothing is lost (checked on
the 203 eyecite test pairs in tests/integration/test_ner_shared.py).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from lexprep.ner.merge import Span

#: a text without any of these cannot contain an eyecite citation (volumes, pages, sections, Id., supra)
MAYBE_CITATION = re.compile(r"\d|§|\b(?:id|ibid|supra)\b", re.IGNORECASE)
_TRAIL = " \t\r\n,;:"

# eyecite logs "Unknown overlap case" warnings that quote document text; document text is not to be
# logged at INFO or above, so its warnings are raised to ERROR unless the caller configured it.
_eyecite_log = logging.getLogger("eyecite")
if _eyecite_log.level == logging.NOTSET:
    _eyecite_log.setLevel(logging.ERROR)


@dataclass(slots=True)
class Citation:
    """One eyecite citation in a text.

    Attributes:
        kind: eyecite's class name (``FullCaseCitation`` ...).
        label: CASE, LAW or OTHER (module docstring).
        start, end: the mention span (character offsets in the text).
        core_start, core_end: eyecite's ``span()``: the citation proper ("410 U.S. 113").
        corrected: eyecite's ``corrected_citation()`` of this citation itself.
        normalized: the canonical citation this one stands for (after resolution), or None.
    """

    kind: str
    label: str
    start: int
    end: int
    core_start: int
    core_end: int
    corrected: str
    normalized: str | None


def _clean(s: str) -> str:
    return " ".join(s.split()).rstrip(_TRAIL)


def _own_normalized(c) -> str:
    """A full citation's canonical form (see module docstring)."""
    kind = type(c).__name__
    if kind == "FullLawCitation" and (c.groups or {}).get("subject"):
        return _clean(c.matched_text())
    return _clean(c.corrected_citation())


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Trim surrounding whitespace, trailing ",;:" and a trailing possessive ("§5.05(b)(1)’s")."""
    while start < end and text[start].isspace():
        start += 1
    while True:
        while end > start and text[end - 1] in _TRAIL:
            end -= 1
        if end - start > 2 and text[end - 1] in "sS" and text[end - 2] in "'’":
            end -= 2
            continue
        return start, end


def find_citations(text: str) -> list[Citation]:
    """All eyecite citations in ``text`` (offsets into ``text``), in eyecite's order.

    Raises nothing on odd input: eyecite errors on one text are logged (without the text) at
    WARNING and give an empty list.
    """
    if not text or not MAYBE_CITATION.search(text):
        return []
    from eyecite import get_citations
    from eyecite.resolve import resolve_citations

    try:
        cites = get_citations(text)
    except Exception as exc:  # noqa: BLE001 - a library bug on one text must not fail the document
        logging.getLogger(__name__).warning("eyecite failed on a text of %d chars: %r", len(text), exc)
        return []
    if not cites:
        return []

    # resource -> normalized, for short forms / Id. / supra / references
    normalized_of: dict[int, tuple[str, str]] = {}
    try:
        resolutions = resolve_citations(cites)
    except Exception:  # noqa: BLE001 - resolution is a refinement; keep the citations without it
        resolutions = {}
    for resource, members in resolutions.items():
        full = getattr(resource, "citation", None)
        if full is None:
            continue
        fkind = type(full).__name__
        flabel = "LAW" if fkind == "FullLawCitation" else "CASE" if "Case" in fkind else "OTHER"
        norm = _own_normalized(full)
        for m in members:
            normalized_of[id(m)] = (flabel, norm)

    starts = sorted(c.span()[0] for c in cites)
    out: list[Citation] = []
    for c in cites:
        kind = type(c).__name__
        core_start, core_end = c.span()
        full_start, full_end = c.full_span()
        # the next citation's start bounds this one's end (eyecite's full-span end can overrun)
        nxt = next((s for s in starts if s > core_start), len(text))
        start, end = core_start, core_end
        if kind in ("FullCaseCitation", "ShortCaseCitation", "FullLawCitation", "FullJournalCitation"):
            start = min(full_start, core_start)
            end = max(core_end, full_end) if full_end <= nxt else core_end
            pin_end = getattr(c.metadata, "pin_cite_span_end", None)
            if end == core_end and pin_end and core_end < pin_end <= nxt:
                end = pin_end
        elif kind == "SupraCitation":
            start = min(full_start, core_start)
        start, end = _strip_span(text, start, end)
        if end <= start:
            continue
        corrected = c.corrected_citation()
        resolved = normalized_of.get(id(c))
        if kind in ("FullCaseCitation", "ShortCaseCitation", "ReferenceCitation"):
            label, norm = "CASE", resolved[1] if resolved else _own_normalized(c)
        elif kind == "SupraCitation":
            label, norm = "CASE", resolved[1] if resolved else None
        elif kind == "IdCitation":
            label, norm = resolved if resolved else ("OTHER", None)
        elif kind == "FullLawCitation":
            label, norm = "LAW", _own_normalized(c)
        elif kind == "FullJournalCitation":
            label, norm = "OTHER", _own_normalized(c)
        elif kind == "UnknownCitation":  # "§5.05(a)"; a bare "§§" eyecite could not parse -> OTHER
            norm = _clean(text[start:end])
            label = "LAW" if any(ch.isdigit() for ch in norm) else "OTHER"
        else:  # a class added by a later eyecite: keep it
            label, norm = "OTHER", corrected
        out.append(
            Citation(kind, label, start, end, core_start, core_end, corrected, norm)
        )
    return out


def citation_spans(text: str) -> list[Span]:
    """``find_citations`` as merge Spans (extractor ``eyecite``, score 1.0, source_label = class name)."""
    return [
        Span(
            c.label,
            c.start,
            c.end,
            1.0,
            c.kind,
            "eyecite",
            c.normalized,
            c.core_start if c.label == "CASE" and c.core_start > c.start else None,
        )
        for c in find_citations(text)
    ]
