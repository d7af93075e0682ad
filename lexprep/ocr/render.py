"""Pages to images: PDF pages rendered with pypdfium2, image files split into frames with Pillow.

Every image returned is grayscale (``L``: tesseract binarises anyway, and gray is faster through it than
RGB with a third of the memory) and carries its resolution in ``image.info["dpi"]`` when known.
pdfium is not thread-safe: every pdfium call made here holds :data:`PDFIUM_LOCK`.
"""

from __future__ import annotations

import io
import threading
from typing import Iterator

from lexprep.errors import CorruptFileError
from lexprep.settings import OcrSettings

#: a page is a single scan when one image object covers at least this share of it
SINGLE_SCAN_COVERAGE = 0.85
#: never render a single scan below this resolution (dpi), whatever its own resolution
MIN_DPI = 150
#: held around pdfium calls (the library is not thread-safe; callers in threads share one process)
from lexprep.pdfium_lock import PDFIUM_LOCK  # noqa: E402  (shared with extraction)


def scan_dpi(page) -> int | None:
    """The resolution (dpi) of the one image that covers the page, or None when it is not a single scan."""
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    images = list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))
    if len(images) != 1:
        return None
    left, bottom, right, top = images[0].get_bounds()
    if (right - left) * (top - bottom) < SINGLE_SCAN_COVERAGE * width * height:
        return None
    try:
        px_w, px_h = images[0].get_px_size()
    except Exception:
        return None
    if right - left <= 0 or top - bottom <= 0:
        return None
    if (px_w > px_h) != (right - left > top - bottom):  # placed rotated by 90 degrees
        px_w, px_h = px_h, px_w
    return int(round(px_w / ((right - left) / 72.0)))


def fit_dpi(width_pt: float, height_pt: float, dpi: int, max_pixels: int | None) -> int:
    """``dpi``, lowered so that a ``width_pt`` x ``height_pt`` page (points, 1/72 inch) rendered at it has
    at most ``max_pixels`` pixels (never below 1)."""
    if not max_pixels:
        return dpi
    pixels = (width_pt * dpi / 72.0) * (height_pt * dpi / 72.0)
    if pixels <= max_pixels:
        return dpi
    return max(1, int(dpi * (max_pixels / pixels) ** 0.5))


def render_pdf_page(pdf, number: int, settings: OcrSettings, max_pixels: int | None = None):
    """Render page ``number`` (1-based) of a PDF to a grayscale PIL image for OCR.

    Args:
        pdf: an open ``pypdfium2.PdfDocument`` (cheapest for many pages), the PDF's bytes, or a file path.
        number: 1-based page number.
        settings: ``dpi``, ``max_dpi``, ``use_embedded_resolution``.
        max_pixels: the most pixels the render may have (None: no limit); a larger page is rendered
            at a lower resolution (:func:`fit_dpi`).

    The resolution is the embedded scan's own (clamped to [150, ``max_dpi``]) when the page is a single
    scan and ``use_embedded_resolution`` is set, else ``settings.dpi`` (dots per inch); then lowered to
    fit ``max_pixels``.

    Returns:
        (PIL.Image in mode "L" with ``info["dpi"]`` set, dpi).

    Raises:
        CorruptFileError: the PDF cannot be opened, or "page N could not be rendered: <reason>".
    """
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        own = not isinstance(pdf, pdfium.PdfDocument)
        if own:
            try:
                pdf = pdfium.PdfDocument(pdf)
            except Exception as exc:
                raise CorruptFileError(f"the PDF could not be opened: {type(exc).__name__}: {exc}") from exc
        try:
            if not 1 <= number <= len(pdf):
                raise CorruptFileError(f"page {number} could not be rendered: the document has {len(pdf)} pages")
            page = pdf[number - 1]
            try:
                dpi = scan_dpi(page) if settings.use_embedded_resolution else None
                dpi = max(MIN_DPI, min(dpi, settings.max_dpi)) if dpi else settings.dpi
                dpi = fit_dpi(*page.get_size(), dpi, max_pixels)
                bitmap = page.render(scale=dpi / 72.0, grayscale=True, may_draw_forms=True)
                try:
                    image = bitmap.to_pil().convert("L")  # convert copies out of pdfium's buffer
                finally:
                    bitmap.close()
            finally:
                page.close()
        except CorruptFileError:
            raise
        except Exception as exc:
            raise CorruptFileError(f"page {number} could not be rendered: {type(exc).__name__}: {exc}") from exc
        finally:
            if own:
                pdf.close()
    image.info["dpi"] = (dpi, dpi)
    return image, dpi


def image_frame(data: bytes, number: int, max_pixels: int | None = None):
    """Frame ``number`` (1-based) of an image file as a grayscale PIL image, and its dpi when recorded.

    A frame larger than ``max_pixels`` is scaled down to fit (its dpi with it); one larger than 16 times
    that is refused before it is decoded.

    Raises:
        CorruptFileError: not an image, no such frame, or a frame too large to decode.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data))
        img.seek(number - 1)
        width, height = img.size
        if max_pixels and width * height > 16 * max_pixels:
            raise CorruptFileError(f"image frame {number} is {width} x {height} pixels, too large to decode "
                                   f"(over 16 x limits.max_render_pixels)")
        if max_pixels and width * height > max_pixels and img.format == "JPEG":
            img.draft("L", (width // 2, height // 2))  # decode a JPEG at a reduced scale directly
        img.load()
        dpi = img.info.get("dpi")
        frame = img.convert("L")
        if max_pixels and frame.width * frame.height > max_pixels:
            factor = (max_pixels / (frame.width * frame.height)) ** 0.5
            frame = frame.resize((max(1, int(frame.width * factor)), max(1, int(frame.height * factor))))
            dpi = (dpi[0] * factor, dpi[1] * factor) if dpi else None
        elif dpi and (frame.width, frame.height) != (width, height):  # decoded at a reduced scale
            dpi = (dpi[0] * frame.width / width, dpi[1] * frame.height / height)
        if dpi:
            frame.info["dpi"] = dpi
    except (UnidentifiedImageError, OSError, EOFError, ValueError, Image.DecompressionBombError) as exc:
        raise CorruptFileError(f"image frame {number} could not be read: {type(exc).__name__}") from exc
    return frame, (int(round(dpi[0])) if dpi and dpi[0] else None)


def iter_image_frames(data: bytes) -> Iterator:
    """Every frame of a PNG, JPEG, GIF or multi-page TIFF as a grayscale PIL image.

    Raises:
        CorruptFileError: the bytes are not an image.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data))
        frames = getattr(img, "n_frames", 1) or 1
    except (UnidentifiedImageError, OSError) as exc:
        raise CorruptFileError(f"not an image: {type(exc).__name__}") from exc
    for i in range(frames):
        try:
            img.seek(i)
            img.load()
            frame = img.convert("L")
        except (OSError, EOFError, ValueError) as exc:
            raise CorruptFileError(f"page {i + 1} could not be rendered: {type(exc).__name__}: {exc}") from exc
        if img.info.get("dpi"):
            frame.info["dpi"] = img.info["dpi"]
        yield frame
