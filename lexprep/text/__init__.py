"""Text stage: cleaning, categorization, chunking (no Prefect; plain functions).

* :func:`clean_pages` -- raw pages -> :class:`~lexprep.models.CleanText` (text + page map)
* :func:`categorize` -- cleaned text -> :class:`~lexprep.models.CategoryResult` with a reason
* :func:`chunk_text` -- cleaned text -> :class:`~lexprep.models.Chunk` list (token-bounded)
* :func:`make_token_counter` -- the token counter ``chunk_text`` uses
"""

from lexprep.text.categorize import categorize
from lexprep.text.chunk import chunk_text, count_word_tokens, make_token_counter
from lexprep.text.clean import clean_pages

__all__ = ["categorize", "chunk_text", "clean_pages", "count_word_tokens", "make_token_counter"]
