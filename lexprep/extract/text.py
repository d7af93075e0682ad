"""Plain text with encoding detection (BOMs first, then UTF-8, then charset-normalizer)."""

from __future__ import annotations

from lexprep.errors import UnsupportedFormatError
from lexprep.models import ExtractedDocument, Page, PageMethod

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding). Raises UnsupportedFormatError when the bytes are not text in any encoding."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UnsupportedFormatError("binary content, not text")
    return str(best), best.encoding


def extract_text(data: bytes) -> ExtractedDocument:
    """One part (page 1, method ``native``); ``meta["encoding"]`` names the detected encoding."""
    text, encoding = decode_text(data)
    if "\x00" in text:
        raise UnsupportedFormatError("binary content, not text")
    return ExtractedDocument(kind="text", pages=[Page(1, PageMethod.native.value, text, 1.0)], meta={"encoding": encoding})
