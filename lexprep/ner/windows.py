"""Windows over a document's cleaned text for the statistical NER model.

Mentions are found once per document span: the model reads the document in windows whose *cores*
tile the text without gaps or overlap, each window reading a margin of context on both sides of
its core. A span found by a window is kept only when it starts inside that window's core, so a
span near a boundary is found by exactly one window, with context on both sides.

Cores end at page or transcript-segment boundaries when those are close to the target size (a
page is the natural unit of paper; a segment of a recording), otherwise at a line or sentence end,
otherwise at whitespace.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Window", "make_windows"]


@dataclass(frozen=True, slots=True)
class Window:
    """``text[start:end]`` is read; spans starting in ``[core_start, core_end)`` are kept."""

    start: int
    end: int
    core_start: int
    core_end: int


def _cut(text: str, lo: int, hi: int, boundaries: list[int]) -> int:
    """A cut position in ``(lo, hi]``: the last boundary, else the last blank line, newline,
    sentence end or space in the second half of the range; ``hi`` when there is none."""
    candidates = [b for b in boundaries if lo < b <= hi]
    if candidates:
        return candidates[-1]
    half = lo + (hi - lo) // 2
    for sep in ("\n\n", "\n", ". ", " "):
        i = text.rfind(sep, half, hi)
        if i > lo:
            return i + len(sep)
    return hi


def make_windows(text: str, size: int = 6000, margin: int = 400, boundaries: list[int] | None = None) -> list[Window]:
    """Cut ``text`` into windows (see the module docstring).

    Args:
        text: the document's cleaned text.
        size: target core length (characters).
        margin: context read on each side of a core (characters).
        boundaries: preferred cut positions (page or segment starts), ascending.

    Returns:
        windows in text order whose cores tile ``[0, len(text))``; none for empty text.
    """
    n = len(text)
    if n == 0:
        return []
    size = max(200, int(size))
    margin = max(0, int(margin))
    bounds = sorted(b for b in (boundaries or []) if 0 < b < n)
    out: list[Window] = []
    pos = 0
    while pos < n:
        if n - pos <= size * 1.25:
            core_end = n
        else:
            core_end = _cut(text, pos + size // 2, pos + size, bounds)
        out.append(Window(max(0, pos - margin), min(n, core_end + margin), pos, core_end))
        pos = core_end
    return out
