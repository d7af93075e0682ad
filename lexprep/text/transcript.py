"""A recording's transcript as document text: segments in order, one per line, each mapped to its
character span so that chunks can carry time ranges (seconds) and speakers instead of pages."""

from __future__ import annotations

import unicodedata

from lexprep.models import Chunk, CleanText, Segment, SegmentSpan


def transcript_text(segments: list[Segment]) -> CleanText:
    """Cleaned text of a transcript: each non-empty segment's text (NFKC, whitespace collapsed) on its
    own line, in time order; ``segment_spans`` maps each line back to its segment (index into
    ``segments``), time range and speaker. ``page_spans`` is empty."""
    order = sorted(range(len(segments)), key=lambda i: (segments[i].start_s, segments[i].end_s, i))
    parts: list[str] = []
    spans: list[SegmentSpan] = []
    offset = 0
    for i in order:
        seg = segments[i]
        text = " ".join(unicodedata.normalize("NFKC", seg.text).split())
        if not text:
            continue
        if parts:
            offset += 1  # the newline before this segment
        spans.append(SegmentSpan(i, offset, offset + len(text), seg.start_s, seg.end_s, seg.speaker))
        parts.append(text)
        offset += len(text)
    return CleanText(text="\n".join(parts), page_spans=[], segment_spans=spans)


def annotate_chunks(chunks: list[Chunk], clean: CleanText) -> list[Chunk]:
    """Give each chunk the time range (seconds) and speakers of the segments its span overlaps.

    Chunks are changed in place and returned. Linear in chunks + segments (both are in text order).
    """
    spans = clean.segment_spans
    if not spans:
        return chunks
    j = 0
    for chunk in chunks:
        while j < len(spans) and spans[j].char_end <= chunk.char_start:
            j += 1
        k = j
        starts, ends, speakers = [], [], []
        while k < len(spans) and spans[k].char_start < chunk.char_end:
            starts.append(spans[k].start_s)
            ends.append(spans[k].end_s)
            if spans[k].speaker and spans[k].speaker not in speakers:
                speakers.append(spans[k].speaker)
            k += 1
        if starts:
            chunk.start_s, chunk.end_s, chunk.speakers = min(starts), max(ends), speakers
    return chunks
