"""Windows over a document's text and the placement of document mentions in overlapping chunks."""

from __future__ import annotations

import pytest

from lexprep.models import Chunk, Mention
from lexprep.ner import place_in_chunks
from lexprep.ner.windows import make_windows

pytestmark = pytest.mark.unit


def test_cores_tile_the_text_and_margins_stay_inside():
    text = ("A sentence of moderate length ends here. " * 40 + "\n\n") * 6
    windows = make_windows(text, size=1000, margin=150)
    assert windows[0].core_start == 0 and windows[-1].core_end == len(text)
    assert all(a.core_end == b.core_start for a, b in zip(windows, windows[1:]))
    for w in windows:
        assert 0 <= w.start <= w.core_start < w.core_end <= w.end <= len(text)
        assert w.core_start - w.start <= 150 and w.end - w.core_end <= 150
        assert w.core_end - w.core_start <= 1000
    # cuts fall on a paragraph, line or sentence end, not inside a word
    assert all(text[w.core_end - 1] in ". \n" for w in windows[:-1])


def test_page_boundaries_are_preferred_cuts():
    page = "word " * 180  # 900 characters
    text = page * 4
    bounds = [900, 1800, 2700]
    windows = make_windows(text, size=1000, margin=50, boundaries=bounds)
    assert [w.core_end for w in windows[:-1]] == bounds


def test_short_and_empty_texts():
    assert make_windows("") == []
    (only,) = make_windows("short text", size=6000, margin=400)
    assert (only.start, only.end, only.core_start, only.core_end) == (0, 10, 0, 10)


def _mention(start, end, text):
    return Mention(-1, "PERSON", text[start:end], 0, 0, start, end)


def test_place_in_chunks_picks_the_first_chunk_holding_the_whole_span():
    text = "x" * 3000
    chunks = [Chunk(0, text[0:1000], 0, 1000, 1, 1, 1), Chunk(1, text[900:2000], 900, 2000, 1, 1, 1),
              Chunk(2, text[1900:3000], 1900, 3000, 1, 1, 1)]
    inside = _mention(10, 20, text)
    overlap = _mention(950, 960, text)  # in chunks 0 and 1: the first holds it
    straddle = _mention(990, 1010, text)  # only chunk 1 holds all of it
    late = _mention(2950, 2960, text)
    placed = place_in_chunks([inside, overlap, straddle, late], chunks)
    assert [(m.chunk_index, m.start, m.end) for m in placed] == [(0, 10, 20), (0, 950, 960), (1, 90, 110),
                                                                  (2, 1050, 1060)]


def test_a_span_no_chunk_holds_goes_to_the_chunk_where_it_starts():
    text = "y" * 200
    chunks = [Chunk(0, text[:100], 0, 100, 1, 1, 1), Chunk(1, text[100:], 100, 200, 1, 1, 1)]
    (m,) = place_in_chunks([_mention(95, 105, text)], chunks)
    assert (m.chunk_index, m.start, m.end) == (0, 95, 105)
