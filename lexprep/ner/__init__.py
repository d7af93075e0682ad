"""Entity mentions of a document: found once per document span, over the document's cleaned text.

Public API:

- :func:`document_mentions` (in the calling process; spaCy loaded once per process),
- :class:`lexprep.ner.pool.MentionPool` (worker processes, each loading spaCy once),
- :func:`place_in_chunks` (each mention's chunk and chunk-relative offsets).

How a document is read (module map):

1. ``windows``: the text is cut into windows whose cores tile it; the statistical backend
   (``backends``: ``spacy_ner`` by default, ``transformers_ner``, ``llm_ner``) reads each window with a
   margin of context and keeps what starts in the core (no span is found twice).
2. ``citations`` (eyecite over the whole document: Id. and supra point back across pages) and
   ``rules`` (COURT, DOCKET, LAW, MONEY, corporate-suffix ORG) over the whole document.
3. ``filters``: the statistical spans are checked and repaired per label.
4. ``merge``: one label per span, by precedence (citations, then rules, then the model).
5. ``document``: captions, definitions, role words and short names link mentions inside the
   document; what links to nothing and is no name is dropped.
"""

from __future__ import annotations

from bisect import bisect_right

from lexprep.models import Chunk, Mention
from lexprep.ner.merge import Span, merge_spans
from lexprep.ner.windows import Window, make_windows

__all__ = ["Span", "Window", "document_mentions", "precise_mentions", "statistical_spans", "combine",
           "place_in_chunks", "make_windows"]

#: categories whose bare section references are the document's own cross references
CONTRACT_CATEGORIES = frozenset({"contract"})


def statistical_spans(text: str, windows: list[Window], settings) -> list[Span]:
    """The statistical backend's spans of ``text`` (document offsets), read window by window; a span
    is kept by the window whose core holds its start. The backend is ``settings.backend``
    (lexprep.ner.backends); its spans carry extractor ``spacy`` through filtering and linking (the
    statistical reading, which the precise spans override) and get the backend's name in
    :func:`to_mentions`."""
    from lexprep.ner.backends import backend_spans

    pieces = [text[w.start:w.end] for w in windows]
    found = backend_spans(pieces, settings) if pieces else []
    out: list[Span] = []
    for w, spans in zip(windows, found):
        for label, s, e, score, src in spans:
            start = w.start + s
            if w.core_start <= start < w.core_end:
                out.append(Span(label, start, w.start + e, score, src, "spacy"))
    return out


def precise_mentions(text: str, settings, category: str | None = None) -> tuple[list, list[Span]]:
    """Citations (lexprep.ner.citations.Citation, with their links) and rule spans of ``text``."""
    from lexprep.ner.citations import find_citations
    from lexprep.ner.rules import rule_spans

    cites = find_citations(text, contract=category in CONTRACT_CATEGORIES) if settings.citations else []
    return cites, rule_spans(text)


def combine(text: str, statistical: list[Span], citations: list, rules: list[Span],
            category: str | None = None) -> list:
    """Filter, merge and link one document's spans: ``[lexprep.ner.document.Linked]`` by start."""
    from lexprep.ner import filters
    from lexprep.ner.document import document_pass

    ctx = filters.DocContext(text, contract=category in CONTRACT_CATEGORIES)
    refined = [r for s in statistical if (r := filters.refine(s, ctx)) is not None]
    rules = [r for s in rules if (r := filters.repair_rule_span(s, ctx)) is not None]
    cite_spans = [Span(c.label, c.start, c.end, 1.0, c.kind, "eyecite", c.normalized) for c in citations]
    merged = merge_spans(refined, cite_spans + rules)
    info = {(c.start, c.end): c for c in citations}
    linked = document_pass(text, merged, ctx, category)
    for x in linked:
        c = info.get((x.span.start, x.span.end))
        if c is not None and x.span.extractor == "eyecite":
            x.link, x.link_method, x.scope = c.link, c.link_method, c.scope
            x.attrs.update(c.attrs)
    kept = {(x.span.start, x.span.end) for x in linked}
    for x in linked:
        if x.link is not None and x.link not in kept:
            x.link, x.link_method = None, None
            if x.span.normalized is None and x.span.label == "CASE":
                x.scope = "document"
    return [x for x in linked if not (x.span.label in ("CASE", "LAW") and x.link is None and x.span.normalized is None
                                      and x.span.extractor == "eyecite")]


def to_mentions(text: str, linked: list, backend: str = "spacy") -> list[Mention]:
    """Mentions (chunk fields unset: see :func:`place_in_chunks`) from linked spans; the statistical
    spans' extractor becomes ``backend`` (lexprep.ner.backends)."""
    out = []
    for x in linked:
        s = x.span
        norm = s.normalized if s.normalized != "?support" else None
        extractor = backend if s.extractor == "spacy" else s.extractor
        out.append(Mention(-1, s.label, text[s.start:s.end], 0, 0, s.start, s.end, s.score, extractor,
                           s.source_label, norm, x.link, x.link_method, x.scope, dict(x.attrs) or None))
    return out


def document_mentions(text: str, settings, category: str | None = None, boundaries: list[int] | None = None) -> list[Mention]:
    """All entity mentions of one document's cleaned text, in the calling process.

    Args:
        text: the document's cleaned text.
        settings: NerSettings (``window_chars``, ``window_margin_chars``, ``citations`` ...).
        category: the document's category (``contract``: section references are cross references;
            court documents: the caption is read).
        boundaries: page or transcript-segment starts (preferred window cuts).

    Returns:
        Mentions sorted by ``doc_start``, one per span, not yet placed in chunks.

    Raises:
        MissingDependencyError / ConfigurationError: the backend's model cannot be loaded.
        TransientError: the llm backend's endpoint kept failing (timeouts, 429, 5xx).
    """
    if not text.strip():
        return []
    from lexprep.ner.backends import backend_name

    windows = make_windows(text, settings.window_chars, settings.window_margin_chars, boundaries)
    cites, rules = precise_mentions(text, settings, category)
    return to_mentions(text, combine(text, statistical_spans(text, windows, settings), cites, rules, category),
                       backend_name(settings))


def place_in_chunks(mentions: list[Mention], chunks: list[Chunk]) -> list[Mention]:
    """Give each mention its chunk: the first chunk holding the whole span, else the chunk where it
    starts; ``start``/``end`` become relative to that chunk. Mentions outside every chunk (text the
    chunker left out, e.g. whitespace) are dropped. Changes the mentions in place and returns them."""
    if not chunks:
        return []
    starts = [c.char_start for c in chunks]
    out = []
    for m in mentions:
        i = bisect_right(starts, m.doc_start) - 1
        if i < 0:
            continue
        j = i
        while j >= 0 and chunks[j].char_end >= m.doc_end and chunks[j].char_start <= m.doc_start:
            j -= 1
        holder = chunks[j + 1] if j + 1 <= i and chunks[j + 1].char_start <= m.doc_start and \
            chunks[j + 1].char_end >= m.doc_end else None
        if holder is None:
            if chunks[i].char_end <= m.doc_start:
                continue
            holder = chunks[i]
        m.chunk_index = holder.chunk_index
        m.start = m.doc_start - holder.char_start
        m.end = m.doc_end - holder.char_start
        out.append(m)
    return out
