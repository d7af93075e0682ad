"""Entity mentions: spaCy NER + eyecite citations + rules (COURT, DOCKET, statutes), merged.

Public API:

- :func:`extract_mentions` (in the calling process; spaCy loaded once per process),
- :class:`lexprep.ner.pool.MentionPool` (worker processes, each loading spaCy once),
- :func:`text_spans` (the per-text core both use).

Module map: ``spacy_ner`` (statistical NER), ``citations`` (eyecite), ``rules`` (regexes), ``merge``
(precedence between them; see its docstring).
"""

from __future__ import annotations

from lexprep.models import Chunk, Mention
from lexprep.ner.merge import Span, merge_spans

__all__ = ["extract_mentions", "text_spans", "spans_to_mentions", "Span"]


def text_spans(texts: list[str], settings) -> list[list[Span]]:
    """Merged mention spans of each text.

    Args:
        texts: chunk texts.
        settings: NerSettings; ``citations=False`` turns eyecite off (rules and spaCy still run).

    Returns:
        one list of :class:`Span` per text, sorted by (start, end, label, extractor).

    Raises:
        MissingDependencyError / ConfigurationError: the spaCy model cannot be loaded.
    """
    from lexprep.ner.citations import citation_spans
    from lexprep.ner.rules import rule_spans
    from lexprep.ner.spacy_ner import spacy_mentions

    statistical = spacy_mentions(texts, settings)
    out: list[list[Span]] = []
    for text, spacy_spans in zip(texts, statistical):
        precise = rule_spans(text)
        if settings.citations:
            precise.extend(citation_spans(text))
        stat = [Span(label, s, e, score, src, "spacy") for (label, s, e, score, src) in spacy_spans]
        out.append(merge_spans(stat, precise))
    return out


def spans_to_mentions(chunks: list[Chunk], spans: list[list[Span]]) -> list[Mention]:
    """Mentions of ``chunks`` from their spans (``spans[i]`` belongs to ``chunks[i]``), in chunk order.

    ``doc_start = chunk.char_start + start`` (same for end); ``text = chunk.text[start:end]``.
    """
    out: list[Mention] = []
    for chunk, chunk_spans in zip(chunks, spans, strict=True):
        base = chunk.char_start
        text = chunk.text
        for s in chunk_spans:
            out.append(
                Mention(
                    chunk_index=chunk.chunk_index,
                    label=s.label,
                    text=text[s.start : s.end],
                    start=s.start,
                    end=s.end,
                    doc_start=base + s.start,
                    doc_end=base + s.end,
                    score=s.score,
                    extractor=s.extractor,
                    source_label=s.source_label,
                    normalized=s.normalized,
                )
            )
    return out


def extract_mentions(chunks: list[Chunk], settings) -> list[Mention]:
    """All entity mentions of ``chunks``, in the calling process.

    Args:
        chunks: one document's (or several documents') chunks.
        settings: NerSettings.

    Returns:
        Mentions in chunk order, then by (start, end, label, extractor) within a chunk. Offsets:
        ``start``/``end`` in the chunk's text, ``doc_start``/``doc_end`` in the document's cleaned text.

    Raises:
        MissingDependencyError / ConfigurationError: the spaCy model cannot be loaded.
    """
    if not chunks:
        return []
    return spans_to_mentions(chunks, text_spans([c.text for c in chunks], settings))
