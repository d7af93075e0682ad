"""lexprep.ocr.render on PDFs and images made here: the render resolution of a single scan vs a vector page,
a page out of range, the frames of a multi-page TIFF, and bytes that are not an image."""

from __future__ import annotations

import io

import pytest

pytestmark = pytest.mark.unit

pdfium = pytest.importorskip("pypdfium2")
Image = pytest.importorskip("PIL.Image")
pytest.importorskip("reportlab")

from lexprep.errors import CorruptFileError  # noqa: E402
from lexprep.ocr.render import image_frame, iter_image_frames, render_pdf_page, scan_dpi  # noqa: E402
from lexprep.settings import OcrSettings  # noqa: E402

LETTER = (612, 792)  # points


def _scan_and_vector_pdf() -> bytes:
    """Page 1: one full-page 1275x1650 image (150 dpi on a letter page); page 2: vector text only."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    scan = Image.new("L", (1275, 1650), 255)
    from PIL import ImageDraw

    ImageDraw.Draw(scan).rectangle((100, 100, 600, 200), fill=0)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=LETTER)
    c.drawImage(ImageReader(scan), 0, 0, width=LETTER[0], height=LETTER[1])
    c.showPage()
    c.setFont("Helvetica", 14)
    c.drawString(72, 700, "A page of vector text, no images at all.")
    c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture(scope="module")
def pdf():
    doc = pdfium.PdfDocument(_scan_and_vector_pdf())
    yield doc
    doc.close()


def test_scan_dpi_of_a_full_page_image(pdf):
    page = pdf[0]
    try:
        assert scan_dpi(page) == 150
    finally:
        page.close()
    page = pdf[1]
    try:
        assert scan_dpi(page) is None
    finally:
        page.close()


def test_scan_dpi_of_a_rotated_full_page_image():
    """A landscape 1650x1275 scan placed rotated on a portrait letter page is still 150 dpi."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=LETTER)
    c.translate(LETTER[0], 0)
    c.rotate(90)
    c.drawImage(ImageReader(Image.new("L", (1650, 1275), 255)), 0, 0, width=LETTER[1], height=LETTER[0])
    c.showPage()
    c.save()
    doc = pdfium.PdfDocument(buf.getvalue())
    page = doc[0]
    try:
        assert scan_dpi(page) == 150
    finally:
        page.close()
        doc.close()


def test_single_scan_renders_at_its_own_resolution(pdf):
    image, dpi = render_pdf_page(pdf, 1, OcrSettings(dpi=300))
    assert dpi == 150
    assert image.mode == "L"
    assert abs(image.width - 1275) <= 2 and abs(image.height - 1650) <= 2


def test_embedded_resolution_can_be_turned_off(pdf):
    image, dpi = render_pdf_page(pdf, 1, OcrSettings(dpi=200, use_embedded_resolution=False))
    assert dpi == 200
    assert abs(image.width - 1700) <= 2


def test_embedded_resolution_is_clamped(pdf):
    _, dpi = render_pdf_page(pdf, 1, OcrSettings(max_dpi=120))
    assert dpi == 150  # MIN_DPI wins over a max_dpi below it


def test_vector_page_renders_at_settings_dpi(pdf):
    image, dpi = render_pdf_page(pdf, 2, OcrSettings(dpi=120))
    assert dpi == 120
    assert image.mode == "L"
    assert abs(image.width - 1020) <= 2 and abs(image.height - 1320) <= 2


@pytest.mark.parametrize("number", [0, 3, 99])
def test_page_out_of_range_is_corrupt(pdf, number):
    with pytest.raises(CorruptFileError, match=rf"^page {number} could not be rendered"):
        render_pdf_page(pdf, number, OcrSettings())


def _tiff(frames: int = 3) -> bytes:
    images = [Image.new("L", (200 + 10 * i, 100), 255 - 60 * i) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, format="TIFF", save_all=True, append_images=images[1:], dpi=(300, 300))
    return buf.getvalue()


def test_image_frame_of_a_multi_page_tiff():
    data = _tiff(3)
    for n in (1, 2, 3):
        frame, dpi = image_frame(data, n)
        assert frame.mode == "L"
        assert frame.size == (200 + 10 * (n - 1), 100)
        assert frame.getpixel((0, 0)) == 255 - 60 * (n - 1)
        assert dpi == 300
    with pytest.raises(CorruptFileError, match="image frame 4"):
        image_frame(data, 4)


def test_iter_image_frames_of_a_multi_page_tiff():
    frames = list(iter_image_frames(_tiff(3)))
    assert [f.size for f in frames] == [(200, 100), (210, 100), (220, 100)]
    assert all(f.mode == "L" for f in frames)


def test_png_without_dpi():
    buf = io.BytesIO()
    Image.new("RGB", (50, 40), "white").save(buf, format="PNG")
    frame, dpi = image_frame(buf.getvalue(), 1)
    assert frame.mode == "L" and frame.size == (50, 40)
    assert dpi is None


@pytest.mark.parametrize("data", [b"", b"%PDF-1.4 not really", b"hello, world\n" * 20])
def test_non_image_bytes_are_corrupt(data):
    with pytest.raises(CorruptFileError):
        image_frame(data, 1)
    with pytest.raises(CorruptFileError):
        list(iter_image_frames(data))


def test_render_from_bytes_sets_the_image_dpi():
    image, dpi = render_pdf_page(_scan_and_vector_pdf(), 1, OcrSettings())
    assert dpi == 150 and image.info["dpi"] == (150, 150)


def test_render_of_bytes_that_are_not_a_pdf_is_corrupt():
    with pytest.raises(CorruptFileError, match="could not be opened"):
        render_pdf_page(b"not a pdf at all", 1, OcrSettings())
