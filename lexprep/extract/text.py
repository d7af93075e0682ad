"""Plain text with encoding detection (BOMs first, then UTF-16 by its NUL pattern, UTF-8, Windows-1252
when it reads as Western text, then charset-normalizer).

A huge file is cut before it is decoded (only the bytes that can hold ``max_chars`` characters are
read), and stray control characters (NULs from a broken export, a DOS end-of-file mark) are dropped.
"""

from __future__ import annotations

import codecs

from lexprep.errors import UnsupportedFormatError
from lexprep.models import ExtractedDocument, Page, PageMethod

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)

#: non-ASCII characters that Western (Windows-1252) text is made of: Latin-1 letters and the usual
#: typographic punctuation. Superscripts, fractions and box-like symbols are left out on purpose, so
#: that Central European or Cyrillic single-byte text (which reads as those in cp1252) falls through.
_WESTERN = frozenset(
    [chr(c) for c in range(0xC0, 0x100) if c not in (0xD7, 0xF7)]
    + list("\u00a0\u00a7\u00a9\u00ae\u00b0\u00b1\u00ab\u00bb\u00b6\u00b7\u00a1\u00bf\u00a2\u00a3\u00a5\u00b5")
    + list("\u201c\u201d\u2018\u2019\u2013\u2014\u2026\u2022\u20ac\u2122\u0152\u0153\u0160\u0161\u017d\u017e\u0178")
)


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``-be`` when NULs sit at every odd/even byte of mostly-ASCII text, else None."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    odd = sample[1 : 2 * pairs : 2].count(0)
    even = sample[0 : 2 * pairs : 2].count(0)
    if odd > 0.6 * pairs and even < 0.05 * pairs:
        return "utf-16-le"
    if even > 0.6 * pairs and odd < 0.05 * pairs:
        return "utf-16-be"
    return None


def _as_western(data: bytes) -> str | None:
    """The text as Windows-1252 when every non-ASCII character is a Western letter or typographic mark
    and non-ASCII letters are a minority of the letters (accents in English, French, Spanish, German)."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    letters = high = 0
    for ch in text:
        if ch.isalpha():
            letters += 1
        if ord(ch) > 0x7F:
            if ch not in _WESTERN:
                return None
            if ch.isalpha():
                high += 1
    return text if letters and high <= 0.3 * letters else None


def decode_text(data: bytes, partial: bool = False) -> tuple[str, str]:
    """(text, encoding name). Raises UnsupportedFormatError when the bytes are not text in any encoding.

    ``partial``: ``data`` is the head of a longer file, so a multi-byte character cut at its end is not
    a decoding error (it is left out).

    Order: a BOM; UTF-16 without a BOM (NUL at every other byte); strict UTF-8; Windows-1252 when the
    result reads as Western text (charset-normalizer alone picks cp1250 or cp437 for short Western
    text and turns "naïve" into "naďve", "Señor" into "Seńor"); then charset-normalizer.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), encoding
    if b"\x00" in data[:4096]:
        encoding = _utf16_without_bom(data)
        if encoding is not None:
            return data.decode(encoding, errors="replace"), encoding
    try:
        if partial:
            return codecs.getincrementaldecoder("utf-8")().decode(data, final=False), "utf-8"
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    western = _as_western(data)
    if western is not None:
        return western, "cp1252"
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UnsupportedFormatError("binary content, not text")
    return str(best), best.encoding


#: control characters dropped from text (C0 but tab, line feed, form feed, carriage return; DEL)
_CONTROLS = {c: None for c in [*range(0, 9), 11, *range(14, 32), 127]}
#: bytes per character at most, in every encoding read here (UTF-8, UTF-16 surrogate pairs, UTF-32)
_MAX_BYTES_PER_CHAR = 4


def extract_text(data: bytes, max_chars: int | None = None) -> ExtractedDocument:
    """One part (page 1, method ``native``); ``meta["encoding"]`` names the detected encoding.

    Args:
        max_chars: keep at most this many characters; only the head of a longer file is decoded and
            ``meta["left_out"]`` says where it was cut.

    Control characters other than tab and line breaks are dropped (counted in
    ``meta["control_chars_dropped"]``): text with a few stray NULs is still text.

    Raises:
        UnsupportedFormatError: the bytes are binary, not text.
    """
    size = len(data)
    cut = max_chars is not None and size > max_chars * _MAX_BYTES_PER_CHAR
    text, encoding = decode_text(data[: max_chars * _MAX_BYTES_PER_CHAR] if cut else data, partial=cut)
    dropped = len(text)
    text = text.translate(_CONTROLS)
    dropped -= len(text)
    meta: dict = {"encoding": encoding}
    if dropped:
        meta["control_chars_dropped"] = dropped
    if max_chars is not None and (cut or len(text) > max_chars):
        text = text[:max_chars]
        meta["left_out"] = [f"text cut after {max_chars:,} characters of a {size:,}-byte file (limits.max_text_chars)"]
    return ExtractedDocument(kind="text", pages=[Page(1, PageMethod.native.value, text, 1.0)], meta=meta)
