"""Dispatch a file to the extractor for its sniffed kind."""

from __future__ import annotations

from lexprep.errors import CorruptFileError, EmptyFileError, LimitExceededError, UnsupportedFormatError
from lexprep.models import ExtractedDocument, Page, PageMethod
from lexprep.settings import Settings

_UNSUPPORTED = {
    "zip": "ZIP archive is not supported (unpack it into the matter folder)",
    "rtf": "RTF is not supported yet",
    "ole": "Office 97-2003 file that is not a Word document or Outlook message (e.g. Excel, PowerPoint) is not supported",
    "unknown": "unknown binary format (not PDF, Office, e-mail, HTML, text, audio or image)",
}
#: what an OLE2 compound file of each kind is, for messages
_OLE_LABELS = {"doc": "Word 97-2003", "msg": "Outlook message (.msg)", "ole": "Office 97-2003"}
#: unsupported Office Open XML packages, by MIME type (sniff gives kind "zip" and one of these)
_OOXML = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel workbook (.xlsx)",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint presentation (.pptx)",
}


def _image(data: bytes, settings: Settings) -> ExtractedDocument:
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            frames = getattr(img, "n_frames", 1) or 1
            img.verify()
    except Image.DecompressionBombError as exc:
        raise LimitExceededError(f"image is too large to decode: {exc}".split(" could be")[0][:200]) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise CorruptFileError(f"image could not be read: {type(exc).__name__}") from exc
    if frames > settings.limits.max_pages:
        raise LimitExceededError(
            f"image has {frames:,} frames, over the limit of {settings.limits.max_pages:,} (limits.max_pages)")
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
    if kind in _OLE_LABELS:
        from lexprep.extract.sniff import cfb_truncated

        needed = cfb_truncated(data)
        if needed:
            raise CorruptFileError(f"truncated or damaged {_OLE_LABELS[kind]} file ({len(data):,} of the "
                                   f"{needed:,} bytes its structure needs)")
    if kind == "pdf":
        from lexprep.extract.pdf import extract_pdf

        return extract_pdf(data, settings)
    if kind == "docx":
        from lexprep.extract.docx import extract_docx

        return extract_docx(data, settings.limits.max_unzipped_bytes)
    if kind in ("doc", "wpd"):
        from lexprep.extract.legacy import extract_legacy

        return extract_legacy(data, kind)
    if kind == "eml":
        from lexprep.extract.email import extract_eml

        return extract_eml(data, settings.limits)
    if kind == "msg":
        from lexprep.extract.email import extract_msg

        return extract_msg(data)
    if kind == "html":
        from lexprep.extract.html import extract_html

        return extract_html(data)
    if kind == "text":
        from lexprep.extract.text import extract_text

        return extract_text(data, settings.limits.max_text_chars)
    if kind == "image":
        return _image(data, settings)
    if kind == "audio":
        return ExtractedDocument(kind="audio", pages=[], meta={"needs_transcription": True})
    if kind == "ole":
        from lexprep.extract.sniff import ole_streams

        if ole_streams(data) is None:
            raise CorruptFileError("truncated or damaged Office 97-2003 file (its directory cannot be read)")
    if kind == "zip":
        from lexprep.extract.sniff import ooxml_type

        what = _OOXML.get(ooxml_type(data) or "")
        if what:
            raise UnsupportedFormatError(f"{what} is not supported")
    raise UnsupportedFormatError(_UNSUPPORTED.get(kind, f"{kind} files are not supported"))
