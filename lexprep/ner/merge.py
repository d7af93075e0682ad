"""Combine one document's spans from the extractors into one mention per span.

Precedence (documented contract):

1. Precise spans (eyecite citations, then the rules: COURT, DOCKET, LAW, MONEY, corporate-suffix
   ORG) are taken first, eyecite before rules, longer before shorter; a precise span overlapping one
   already taken is dropped, so no two mentions overlap.
2. A statistical (spaCy) span overlapping any taken precise span is dropped: the precise span is the
   better reading of the same characters (``410 U.S. 113`` is a CASE, not a CARDINAL plus a GPE;
   ``No. 11–889`` a DOCKET). Words inside a citation's case name are part of the CASE mention and
   are not also PERSON/ORG/GPE mentions.
3. Statistical spans that overlap one another keep the longer (then the earlier).

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
    """

    label: str
    start: int
    end: int
    score: float = 1.0
    source_label: str | None = None
    extractor: str = "spacy"
    normalized: str | None = None


_EXTRACTOR_RANK = {"eyecite": 0, "rules": 1}


def _sort_key(s: Span) -> tuple:
    return (s.start, s.end, s.label, s.extractor, s.source_label or "", s.normalized or "")


def _take(spans: list[Span], taken: list[Span]) -> list[Span]:
    """Add each of ``spans`` (in order) to ``taken`` unless it overlaps a span already there."""
    import bisect

    taken_sorted = sorted(taken, key=lambda t: t.start)
    starts = [t.start for t in taken_sorted]
    for s in spans:
        if s.end <= s.start:
            continue
        i = bisect.bisect_left(starts, s.end)  # taken spans starting before s ends
        if i > 0 and taken_sorted[i - 1].end > s.start:
            continue
        starts.insert(i, s.start)
        taken_sorted.insert(i, s)
        taken.append(s)
    return taken


def merge_spans(statistical: list[Span], precise: list[Span]) -> list[Span]:
    """Merge one text's spans into one per span (see the module docstring).

    Args:
        statistical: spans from a statistical model (spaCy).
        precise: spans from eyecite and the rules.

    Returns:
        Non-overlapping spans sorted by (start, end, label, extractor).
    """
    # a statute the rules read whole ("Okla. Stat., Tit. 82, § 105.12") beats the bare section eyecite saw in it
    laws = [p for p in precise if p.extractor == "rules" and p.label == "LAW"]
    precise = [p for p in precise if not (p.source_label == "UnknownCitation" and any(
        w.start <= p.start and p.end <= w.end and (w.end - w.start) > (p.end - p.start) for w in laws))]
    winners = _take(sorted(precise, key=lambda s: (_EXTRACTOR_RANK.get(s.extractor, 9), -(s.end - s.start),
                                                   _sort_key(s))), [])
    out = _take(sorted(statistical, key=lambda s: (-(s.end - s.start), _sort_key(s))), list(winners))
    out.sort(key=_sort_key)
    return out
