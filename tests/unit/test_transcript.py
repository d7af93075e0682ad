"""Transcript text and time-ranged chunks."""

from __future__ import annotations

import pytest

from lexprep.models import Segment
from lexprep.settings import ChunkSettings
from lexprep.text import chunk_text
from lexprep.text.transcript import annotate_chunks, transcript_text

pytestmark = pytest.mark.unit


def test_transcript_text_maps_segments():
    segs = [
        Segment(5.0, 7.5, "  Second   thing. ", "channel_2", 0.9, 1),
        Segment(0.0, 4.0, "First thing said.", "channel_1", 0.8, 0),
        Segment(8.0, 8.5, "   ", "channel_1"),
    ]
    clean = transcript_text(segs)
    assert clean.text == "First thing said.\nSecond thing."
    assert [(s.index, s.start_s, s.speaker) for s in clean.segment_spans] == [(1, 0.0, "channel_1"), (0, 5.0, "channel_2")]
    for span in clean.segment_spans:
        assert clean.text[span.char_start:span.char_end] == " ".join(segs[span.index].text.split())


def test_chunks_carry_time_ranges_and_speakers():
    segs = [Segment(i * 3.0, i * 3.0 + 2.5, f"Sentence number {i} is spoken here by somebody.",
                    f"SPEAKER_{i % 2}") for i in range(60)]
    clean = transcript_text(segs)
    chunks = annotate_chunks(chunk_text(clean, ChunkSettings(size_tokens=64, overlap_tokens=0)), clean)
    assert len(chunks) > 3
    assert chunks[0].start_s == 0.0 and chunks[-1].end_s == segs[-1].end_s
    assert all(c.page_start is None and c.speakers for c in chunks)
    assert set(chunks[0].speakers) == {"SPEAKER_0", "SPEAKER_1"}
    for a, b in zip(chunks, chunks[1:]):
        assert a.start_s <= b.start_s
