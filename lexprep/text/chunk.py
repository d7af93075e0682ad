"""Chunking: a document's cleaned text -> retrieval chunks that follow its structure.

The split itself is semchunk's (paragraphs, then lines, then sentences, clauses, words), run with a
chunk size of ``size_tokens - overlap_tokens``. The overlap is then added here, by moving each
chunk's start back into its predecessor by up to ``overlap_tokens`` tokens, starting at a sentence
or line start when one is near, else at a word start. (semchunk's own ``overlap=`` argument would
instead cut the text into ``overlap``-token pieces and glue 8 of them together, so every chunk
boundary would fall on a small-piece boundary and chunks would come out well under the size; this
way the boundaries stay on paragraphs and sentences and chunks fill up to the size.)

Guarantees of :func:`chunk_text`: ``chunk.text == clean.text[chunk.char_start:chunk.char_end]``;
chunks neither start nor end with whitespace; ``token_count <= settings.size_tokens``; chunk
``i + 1`` starts strictly after chunk ``i`` starts and ends after it ends; without overlap chunks do not
overlap.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import semchunk

from lexprep.errors import ConfigurationError, MissingDependencyError
from lexprep.models import Chunk, CleanText
from lexprep.settings import ChunkSettings

__all__ = ["chunk_text", "make_token_counter", "count_word_tokens"]

TokenCounter = Callable[[str], int]

_WORD_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD_START = re.compile(r"(?<!\S)\S")
#: positions where a sentence or a line begins (after . ! ? : ; or a closing quote/bracket and space)
_SENTENCE_START = re.compile(r"(?:(?<=[.!?;:])|(?<=[.!?;:][\"')\]]))[ \t]+(?=\S)|\n+(?=\S)")


def count_word_tokens(text: str) -> int:
    """The ``words`` token count: runs of word characters plus each punctuation mark.

    An offline approximation of a subword tokenizer's count: ordinary English prose comes out
    close to (typically 10-25 % below) tiktoken's ``cl100k_base``; rare words, numbers and names
    split into more subword tokens than this counts. Choose ``tiktoken:`` or ``hf:`` when chunks
    must fit a particular embedding model exactly.
    """
    return len(_WORD_TOKEN.findall(text))


@lru_cache(maxsize=16)
def _counter_for(spec: str) -> TokenCounter:
    if spec == "words":
        return count_word_tokens
    kind, _, arg = spec.partition(":")
    if kind == "tiktoken" and arg:
        try:
            import tiktoken
        except ImportError as exc:
            raise MissingDependencyError("tiktoken", "pip install tiktoken") from exc
        try:
            enc = tiktoken.get_encoding(arg)
        except ValueError as exc:  # unknown encoding name
            raise ConfigurationError(f"unknown tiktoken encoding {arg!r}") from exc

        def count_tiktoken(text: str) -> int:
            return len(enc.encode(text, disallowed_special=()))

        return count_tiktoken
    if kind == "hf" and arg:
        try:
            import tokenizers
        except ImportError as exc:
            raise MissingDependencyError("tokenizers", "pip install tokenizers") from exc
        path = Path(arg).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"tokenizer file not found: {path}")
        try:
            tok = tokenizers.Tokenizer.from_file(str(path))
        except Exception as exc:  # the library raises a bare Exception on bad JSON
            raise ConfigurationError(f"cannot load tokenizer {path}: {exc}") from exc

        def count_hf(text: str) -> int:
            return len(tok.encode(text, add_special_tokens=False).ids)

        return count_hf
    raise ConfigurationError(
        f"unknown tokenizer {spec!r} (use 'words', 'tiktoken:<encoding>' or 'hf:<path to tokenizer.json>')"
    )


def make_token_counter(settings: ChunkSettings | None = None) -> TokenCounter:
    """A function ``str -> int`` counting tokens as ``settings.tokenizer`` says.

    * ``words`` (default): :func:`count_word_tokens`, regex ``\\w+|[^\\w\\s]`` (offline, no model).
    * ``tiktoken:<encoding>``, e.g. ``tiktoken:cl100k_base``: tiktoken's BPE count.
    * ``hf:<path>``: a Hugging Face ``tokenizers`` ``tokenizer.json`` (special tokens not counted).

    Counters are built once per process and spec (cached).

    Raises:
        MissingDependencyError: tiktoken or tokenizers is not installed.
        ConfigurationError: an unknown spec, encoding, or a missing/unreadable tokenizer file.
    """
    settings = settings or ChunkSettings()
    return _counter_for(settings.tokenizer.strip())


def _page_lookup(clean: CleanText) -> Callable[[int], int | None]:
    """``offset -> page number`` with CleanText.page_at's semantics, by bisection."""
    spans = clean.page_spans
    if not spans:
        return lambda offset: None
    starts = [s.char_start for s in spans]
    numbers = [s.number for s in spans]

    def page_at(offset: int) -> int | None:
        i = bisect_right(starts, offset) - 1
        return numbers[i] if i >= 0 else None

    return page_at


#: the overlap is looked for in at most this many characters per overlap token before a chunk
_MAX_CHARS_PER_TOKEN = 20


def _overlap_start(
    text: str, lo: int, start: int, end: int, overlap: int, size: int, count: TokenCounter, additive: bool
) -> tuple[int, int]:
    """Where chunk ``[start, end)`` should begin to share up to ``overlap`` tokens with ``[lo, start)``.

    The earliest word start ``s`` in ``(lo, start)`` with ``count(text[s:start]) <= overlap`` (counts
    shrink as ``s`` moves right, so bisect over the short overlap strings), then the first such ``s``
    for which the whole ``count(text[s:end]) <= size`` too (for an additive counter the first try
    holds); moved forward to a sentence or line start when one lies in the first half of
    ``[s, start)``. Returns ``(new start, token count of text[new start:end])``; the start is
    ``start`` itself when no overlap fits. ``additive``: the counter's count of two strings joined at
    whitespace is the sum of their counts (true of the ``words`` counter), which saves a count.
    """
    lo = max(lo + 1, start - overlap * _MAX_CHARS_PER_TOKEN)
    cands = [m.start() for m in _WORD_START.finditer(text, lo, start)]
    n = len(cands)
    # gallop leftwards from the chunk start (short strings first), then bisect the bracket
    fit, step = n, 1
    while step <= n and count(text[cands[n - step]:start]) <= overlap:
        fit = n - step
        step *= 2
    a, b = max(0, n - step), fit  # cands[b] fits (or b == n); the answer lies in [a, b]
    while a < b:
        mid = (a + b) // 2
        if count(text[cands[mid]:start]) <= overlap:
            b = mid
        else:
            a = mid + 1
    for i in range(a, n):
        s = cands[i]
        if i == a:
            m = _SENTENCE_START.search(text, s, start)
            if m and m.end() < start and (m.end() - s) * 2 <= (start - s):
                s = m.end()
        if additive and text[start - 1].isspace():
            total = count(text[s:start]) + count(text[start:end])
        else:
            total = count(text[s:end])
        if total <= size:
            return s, total
    return start, count(text[start:end])


def chunk_text(
    clean: CleanText, settings: ChunkSettings | None = None, token_counter: TokenCounter | None = None
) -> list[Chunk]:
    """Split a cleaned document into chunks of at most ``settings.size_tokens`` tokens.

    Args:
        clean: the document's cleaned text and page map.
        settings: ``size_tokens`` (maximum tokens per chunk), ``overlap_tokens`` (tokens a chunk
            repeats from the end of the one before; capped at half the size), ``tokenizer``.
        token_counter: counts tokens (``str -> int``); default ``make_token_counter(settings)``.

    Returns:
        Chunks in order, ``chunk_index`` 0.., with exact character spans into ``clean.text``, the
        first and last page they touch (None when ``clean.page_spans`` is empty) and their token
        count. Empty or whitespace-only text gives ``[]``.

    Raises:
        MissingDependencyError, ConfigurationError: from :func:`make_token_counter`.
    """
    settings = settings or ChunkSettings()
    text = clean.text
    if not text or text.isspace():
        return []
    base_counter = token_counter or make_token_counter(settings)
    additive = base_counter is count_word_tokens
    # a per-call memo: semchunk counts the same pieces many times; a global memo would grow forever
    count = lru_cache(maxsize=None)(base_counter)
    size = settings.size_tokens
    overlap = min(settings.overlap_tokens, size // 2)
    base_size = size - overlap

    _, offsets = semchunk.chunk(text, base_size, count, memoize=False, offsets=True)

    page_at = _page_lookup(clean)
    chunks: list[Chunk] = []
    prev_start = 0
    for i, (start, end) in enumerate(offsets):
        core_start = start
        if overlap and i > 0:
            start, n = _overlap_start(text, prev_start, start, end, overlap, size, count, additive)
        else:
            n = count(text[start:end])
        prev_start = core_start
        piece = text[start:end]
        chunks.append(
            Chunk(
                chunk_index=i,
                text=piece,
                char_start=start,
                char_end=end,
                page_start=page_at(start),
                page_end=page_at(end - 1),
                token_count=n,
            )
        )
    count.cache_clear()
    return chunks
