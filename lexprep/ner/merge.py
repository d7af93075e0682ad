"""Combine one text's spans from the extractors into its final mention spans.

Precedence (documented contract):

1. Spans from the precise backends — eyecite citations (CASE, LAW, OTHER for journals and
   unresolved "Id.") and the rules (COURT, DOCKET, LAW) — are all kept. Where two of them are
   identical (same label, start and end) they collapse into one (eyecite's is kept). Overlapping
   but different precise spans are both kept (e.g. a CASE citation whose case name eyecite read as
   "Compact §4.01(b)" and the UnknownCitation "§4.01(b)" inside it).
2. A spaCy span is dropped only because a precise span overlaps it: the precise span is the better
   reading of the same characters (``410 U.S. 113`` is a CASE, not a CARDINAL plus a GPE;
   ``No. 11–889`` is a DOCKET, not a CARDINAL; ``United States Court of Appeals for the Tenth
   Circuit`` is a COURT, not an ORG plus a GPE).
   Exception: a spaCy PERSON, ORG or GPE lying wholly inside the case-name part of a CASE span
   (before the citation proper, ``Span.core_start``) is kept as a nested mention: the parties of
   "United States v. Detroit Timber & Lumber Co., 200 U. S. 321" are entities of their own.
3. Everything that overlaps nothing is kept, whatever its label (OTHER included).

Output is sorted by (start, end, label, extractor), so it does not depend on the backends' order.
"""

from __future__ import annotations

from typing import NamedTuple


class Span(NamedTuple):
    """One extractor's finding in one text (character offsets, end exclusive).

    Attributes:
        label: a Label value (``CASE``, ``PERSON`` ... ``OTHER``).
        start, end: the span in the text.
        score: confidence 0..1.
        source_label: the backend's own label (spaCy's ``NORP``, eyecite's ``FullCaseCitation``,
            the rule's name).
        extractor: ``spacy``, ``eyecite`` or ``rules``.
        normalized: a canonical form (eyecite's corrected citation, a docket number) or None.
        core_start: for a CASE span that includes its case name, where the citation proper starts
            (``start <= core_start <= end``); None otherwise.
    """

    label: str
    start: int
    end: int
    score: float = 1.0
    source_label: str | None = None
    extractor: str = "spacy"
    normalized: str | None = None
    core_start: int | None = None


#: spaCy labels that may nest inside a CASE span's case-name part (the parties)
NESTABLE_IN_CASE_NAME = frozenset({"PERSON", "ORG", "GPE"})
_EXTRACTOR_RANK = {"eyecite": 0, "rules": 1}


def _sort_key(s: Span) -> tuple:
    return (s.start, s.end, s.label, s.extractor, s.source_label or "", s.normalized or "")


def merge_spans(statistical: list[Span], precise: list[Span]) -> list[Span]:
    """Merge one text's spans.

    Args:
        statistical: spans from a statistical model (spaCy): they give way to overlapping precise spans.
        precise: spans from eyecite and the rules.

    Returns:
        The merged spans sorted by (start, end, label, extractor); see the module docstring.
    """
    kept: dict[tuple[str, int, int], Span] = {}
    for s in sorted(precise, key=lambda s: (_EXTRACTOR_RANK.get(s.extractor, 9), _sort_key(s))):
        kept.setdefault((s.label, s.start, s.end), s)
    winners = sorted(kept.values(), key=_sort_key)

    out = list(winners)
    seen: set[tuple[str, int, int]] = set(kept)
    for s in statistical:
        if (s.label, s.start, s.end) in seen:
            continue
        if s.end <= s.start or any(_beats(w, s) for w in winners):
            continue
        seen.add((s.label, s.start, s.end))
        out.append(s)
    out.sort(key=_sort_key)
    return out


def _beats(w: Span, s: Span) -> bool:
    """Whether precise span ``w`` overrides statistical span ``s``."""
    if w.end <= s.start or s.end <= w.start:
        return False  # no overlap
    if (
        w.label == "CASE"
        and w.core_start is not None
        and s.label in NESTABLE_IN_CASE_NAME
        and w.start <= s.start
        and s.end <= w.core_start
    ):
        return False  # a party's name inside the case name
    return True
