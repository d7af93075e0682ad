"""Dispatch a file to the extractor for its sniffed kind."""

from __future__ import annotations

from lexprep.errors import CorruptFileError, EmptyFileError, UnsupportedFormatError
from lexprep.models import ExtractedDocument, Page, PageMethod
from lexprep.settings import Settings

_UNSUPPORTED = {
    "zip": "ZIP archive is not supported (unpack it into the matter folder)",
    "rtf": "RTF is not supported yet",
    "ole": "Office 97-2003 file that is not a Word document or Outlook message (e.g. Excel, PowerPoint) is not supported",
    "unknown": "unknown binary format (not PDF, Office, e-mail, HTML, text, audio or image)",
}


def _image(data: bytes) -> ExtractedDocument:
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            frames = getattr(img, "n_frames", 1) or 1
            img.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise CorruptFileError(f"image could not be read: {type(exc).__name__}") from exc
    pages = [Page(n, PageMethod.needs_ocr.value, "", None) for n in range(1, frames + 1)]
    return ExtractedDocument(kind="image", pages=pages, meta={"frames": frames})


def extract(data: bytes, file_name: str, kind: str, settings: Settings) -> ExtractedDocument:
    """Raw text per page or part of a file whose kind was sniffed by :func:`lexprep.extract.sniff`.

    Images come back with one ``needs_ocr`` page per frame; recordings with no pages and
    ``meta["needs_transcription"]``.

    Raises:
        EmptyFileError: zero bytes.
        UnsupportedFormatError: a kind with no extractor here (the message says what to do).
        EncryptedFileError, CorruptFileError: from the format's extractor.
    """
    if kind == "empty" or not data:
        raise EmptyFileError("file is empty (0 bytes)")
    if kind == "pdf":
        from lexprep.extract.pdf import extract_pdf

        return extract_pdf(data, settings)
    if kind == "docx":
        from lexprep.extract.docx import extract_docx

        return extract_docx(data)
    if kind in ("doc", "wpd"):
        from lexprep.extract.legacy import extract_legacy

        return extract_legacy(data, kind)
    if kind == "eml":
        from lexprep.extract.email import extract_eml

        return extract_eml(data)
    if kind == "msg":
        from lexprep.extract.email import extract_msg

        return extract_msg(data)
    if kind == "html":
        from lexprep.extract.html import extract_html

        return extract_html(data)
    if kind == "text":
        from lexprep.extract.text import extract_text

        return extract_text(data)
    if kind == "image":
        return _image(data)
    if kind == "audio":
        return ExtractedDocument(kind="audio", pages=[], meta={"needs_transcription": True})
    raise UnsupportedFormatError(_UNSUPPORTED.get(kind, f"{kind} files are not supported"))
