"""PDF text per page with pypdfium2, and the test of whether a page's text layer can be trusted.

A page whose text layer is absent or poor is returned as ``needs_ocr`` with no text. Poor means
(all thresholds in :class:`lexprep.settings.PdfSettings`):

- fewer than ``min_chars_per_page`` non-space characters, or
- fewer than ``min_chars_per_square_inch`` non-space characters per square inch of page, or
- a share of word-like tokens below ``min_word_ratio`` (garbage from a broken font encoding), or
- a thin layer (fewer than ``thin_text_chars`` characters) over a page whose visible content is mostly
  not text: images covering at least ``image_coverage`` of the page (a scan with a typed header), or
  text only in the header/footer band while the body, rendered at 36 dpi, has ink (an image or text
  drawn as vector outlines: "a lone header over an image").

The characters of a discarded layer are counted in ``meta["discarded_text_layer_chars"]``.

A page with no text layer at all that is blank (no page object and no annotation, or nothing darker
than near-white on a ``blank_check_dpi`` render) is ``blank``: nothing to OCR. A page pdfium cannot
load keeps ``needs_ocr`` with its error and is not sent to OCR (it cannot be rendered either).
Limits (``settings.limits``): a document with more than ``max_pages`` pages is refused before any page
is read, and no check render exceeds ``max_render_pixels``.
"""

from __future__ import annotations

import re

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from lexprep.errors import CorruptFileError, EncryptedFileError, LimitExceededError
from lexprep.pdfium_lock import PDFIUM_LOCK
from lexprep.models import ExtractedDocument, Page, PageMethod
from lexprep.settings import PdfSettings, Settings

_WORDLIKE = re.compile(r"[A-Za-z]{2,}|^\d+[.,:;)]?$|^[A-Za-z][.,)]?$|^[(\[]?\d|[§¶$%]")


def text_layer_quality(text: str, width_pt: float, height_pt: float, settings: PdfSettings) -> str | None:
    """None when the text layer is usable, else a short reason why the page needs OCR."""
    chars = sum(1 for c in text if not c.isspace())
    if chars < settings.min_chars_per_page:
        return f"{chars} characters in text layer"
    area_sq_in = max(width_pt * height_pt / (72.0 * 72.0), 1e-6)
    if chars / area_sq_in < settings.min_chars_per_square_inch:
        return f"{chars / area_sq_in:.2f} characters per square inch"
    tokens = text.split()
    if tokens:
        wordlike = sum(1 for t in tokens if _WORDLIKE.search(t))
        if wordlike / len(tokens) < settings.min_word_ratio:
            return f"only {wordlike}/{len(tokens)} tokens look like words"
    return None


#: a pixel lighter than this (0 black .. 255 white) is paper, not ink, on a blank-page check render
BLANK_PAPER = 245


def render_gray(page, dpi: float, max_pixels: int):
    """``page`` rendered in grayscale at ``dpi`` (lower when the render would exceed ``max_pixels``),
    as a 2-D numpy array (0 black .. 255 white)."""
    width, height = page.get_size()
    scale = dpi / 72.0
    if width * height * scale * scale > max_pixels:
        scale = (max_pixels / max(width * height, 1e-6)) ** 0.5
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        pixels = bitmap.to_numpy()
        if pixels.ndim == 3:
            pixels = pixels[..., 0]
        return pixels.copy()
    finally:
        bitmap.close()


def is_blank(page, settings: Settings) -> bool:
    """No page object and no annotation, or no pixel darker than :data:`BLANK_PAPER` on a render at
    ``pdf.blank_check_dpi`` (call it for a page without a text layer)."""
    if pdfium_c.FPDFPage_CountObjects(page.raw) == 0 and pdfium_c.FPDFPage_GetAnnotCount(page.raw) == 0:
        return True
    pixels = render_gray(page, settings.pdf.blank_check_dpi, settings.limits.max_render_pixels)
    return pixels.size == 0 or int(pixels.min()) >= BLANK_PAPER


def _visible_content_reason(page, width: float, height: float, settings: PdfSettings,
                            max_pixels: int = 50_000_000) -> str | None:
    """Why a thin text layer should not be trusted, or None.

    Either images cover at least ``image_coverage`` of the page, or every text object sits in the
    top or bottom ``header_band`` of the page (a running header such as an ECF stamp) while the body
    below it has ink: an image, or text drawn as vector outlines.
    """
    image_area = 0.0
    body_text = False
    band = settings.header_band * height
    for obj in page.get_objects(max_depth=3):
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            left, bottom, right, top = obj.get_bounds()
            image_area += max(0.0, right - left) * max(0.0, top - bottom)
        elif obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT:
            left, bottom, right, top = obj.get_bounds()
            if bottom < height - band and top > band:
                body_text = True
    page_area = max(width * height, 1e-6)
    if image_area / page_area >= settings.image_coverage:
        return f"text layer of a page that is {min(image_area / page_area, 1.0):.0%} image"
    if body_text:
        return None
    pixels = render_gray(page, 36, max_pixels)
    rows = pixels.shape[0]
    cut = int(settings.header_band * rows) + 1
    body = pixels[cut: rows - cut]
    ink = float((body < 160).mean()) if body.size else 0.0
    if ink > settings.min_body_ink:
        return "text layer holds only a header or footer over an untexted body"
    return None


def _blank(pdf, index: int, settings: Settings) -> bool:
    try:
        page = pdf[index]
    except Exception:
        return False
    try:
        return is_blank(page, settings)
    except Exception:
        return False
    finally:
        page.close()


#: a page tree root that counts no page, and a page object (seen when pdfium refuses a document)
_EMPTY_PAGE_TREE = re.compile(rb"/Type\s*/Pages\b[^>]*/Count\s+0\b|/Count\s+0\b[^>]*/Type\s*/Pages\b")
_PAGE_OBJECT = re.compile(rb"/Type\s*/Page\b(?!s)")


def _open(data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower() or "security" in message.lower():
            raise EncryptedFileError("PDF is password-protected") from exc
        if _EMPTY_PAGE_TREE.search(data) and not _PAGE_OBJECT.search(data):
            # pdfium sets no error of its own here: its "last error" is whatever came before
            raise CorruptFileError("PDF has no pages (its page tree is empty or broken)") from exc
        inner = re.search(r"PDFium:\s*([^)]+)", message)
        reason = (inner.group(1) if inner else message).strip().rstrip(".") or "unreadable"
        if reason.lower() == "success":
            raise CorruptFileError("PDF is damaged or truncated (pdfium gives no reason)") from exc
        raise CorruptFileError(f"PDF is damaged or truncated: {reason.lower()}") from exc


def extract_pdf(data: bytes, settings: Settings) -> ExtractedDocument:
    """Text per page (1-based numbers) from the PDF's text layer (holds the process's pdfium lock).

    Raises:
        EncryptedFileError: the PDF needs a password.
        CorruptFileError: the file is truncated or not a parsable PDF.
    """
    with PDFIUM_LOCK:
        return _extract_pdf(data, settings)


def _extract_pdf(data: bytes, settings: Settings) -> ExtractedDocument:
    """Text per page (1-based numbers) from the PDF's text layer.

    Raises:
        EncryptedFileError: the PDF needs a password.
        CorruptFileError: the file is truncated or not a parsable PDF.
    """
    pdf = _open(data)
    pages: list[Page] = []
    discarded: dict[int, int] = {}
    meta: dict = {}
    unreadable = 0
    try:
        count = len(pdf)
        if count == 0:
            raise CorruptFileError("PDF has no pages (its page tree is empty or broken)")
        if count > settings.limits.max_pages:
            raise LimitExceededError(
                f"PDF has {count:,} pages, over the limit of {settings.limits.max_pages:,} (limits.max_pages)")
        try:
            info = pdf.get_metadata_dict(skip_empty=True)
            meta = {k.lower(): v for k, v in info.items() if k in ("Title", "Author", "Subject", "Creator", "Producer")}
        except Exception:
            meta = {}
        meta["page_count"] = count
        for index in range(count):
            number = index + 1
            try:
                page = pdf[index]
                try:
                    width, height = page.get_size()
                    textpage = page.get_textpage()
                    try:
                        text = textpage.get_text_range()
                    finally:
                        textpage.close()
                finally:
                    page.close()
            except Exception as exc:  # one broken page does not sink the document
                unreadable += 1
                pages.append(Page(number, PageMethod.needs_ocr.value, "", None, f"page could not be read: {exc}"))
                continue
            reason = text_layer_quality(text, width, height, settings.pdf)
            chars = sum(1 for c in text if not c.isspace())
            if reason is None and chars < settings.pdf.thin_text_chars:
                try:
                    page = pdf[index]
                    try:
                        reason = _visible_content_reason(page, width, height, settings.pdf,
                                                         settings.limits.max_render_pixels)
                    finally:
                        page.close()
                except Exception:
                    reason = None
            if reason is None:
                pages.append(Page(number, PageMethod.text_layer.value, text, 1.0))
            elif chars == 0 and _blank(pdf, index, settings):
                pages.append(Page(number, PageMethod.blank.value, "", None))
            else:
                stripped = len(text.strip())
                if stripped:
                    discarded[number] = stripped
                pages.append(Page(number, PageMethod.needs_ocr.value, "", None))
    finally:
        pdf.close()
    if discarded:
        meta["discarded_text_layer_chars"] = discarded
    if unreadable:
        meta["unreadable_pages"] = unreadable
    return ExtractedDocument(kind="pdf", pages=pages, meta=meta, title=meta.get("title"))
