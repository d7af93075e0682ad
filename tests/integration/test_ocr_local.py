"""Local OCR engines (Debian's tesseract, rapidocr's packaged ONNX models) and the page runner on
images and PDFs made here: large clear DejaVu Sans text drawn with Pillow."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")
ImageFont = pytest.importorskip("PIL.ImageFont")

from lexprep.ocr import get_engine  # noqa: E402
from lexprep.ocr.runner import ocr_pages  # noqa: E402
from lexprep.settings import OcrSettings, Settings  # noqa: E402

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu")]

PAGES = [
    ["The witness signed the contract", "on Monday morning in Denver."],
    ["Please state your full name", "for the record, counsel said."],
    ["The motion to dismiss is denied", "and the hearing is continued."],
]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def expected_words(lines: list[str]) -> set[str]:
    return words(" ".join(lines))


@pytest.fixture(scope="module")
def font():
    for d in FONT_DIRS:
        if (d / "DejaVuSans.ttf").exists():
            return ImageFont.truetype(str(d / "DejaVuSans.ttf"), 40)
    pytest.skip("DejaVuSans.ttf not found (apt-get install fonts-dejavu-core)")


def text_image(lines: list[str], font, size=(1400, 420)):
    img = Image.new("L", size, 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((60, 60 + 110 * i), line, font=font, fill=0)
    return img


def page_image(lines: list[str], font):
    """A 150 dpi letter page (1275x1650) with the lines near its top."""
    img = Image.new("L", (1275, 1650), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((100, 150 + 90 * i), line, font=font, fill=0)
    return img


@pytest.fixture(scope="module")
def scanned_pdf(font) -> bytes:
    """A 3-page image-only PDF (one full-page 150 dpi scan per page), made with Pillow."""
    images = [page_image(lines, font) for lines in PAGES]
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=150)
    return buf.getvalue()


@pytest.fixture(scope="module")
def tiff(font) -> bytes:
    images = [text_image(lines, font) for lines in PAGES[:2]]
    buf = io.BytesIO()
    images[0].save(buf, format="TIFF", save_all=True, append_images=images[1:], dpi=(300, 300),
                   compression="tiff_deflate")
    return buf.getvalue()


def settings(**ocr) -> Settings:
    return Settings(ocr=OcrSettings(**ocr))


# ---------------------------------------------------------------------------------- engines


@pytest.mark.parametrize("name", ["tesseract", "rapidocr"])
def test_engine_reads_clear_text(name, font):
    if name == "tesseract" and shutil.which("tesseract") is None:
        pytest.skip("tesseract is not installed (apt-get install tesseract-ocr)")
    if name == "rapidocr":
        pytest.importorskip("rapidocr_onnxruntime")
    engine = get_engine(name, OcrSettings())
    assert get_engine(name, OcrSettings()) is engine  # created once per process and settings
    result = engine.recognize(text_image(PAGES[0], font))
    assert result.engine == name
    assert expected_words(PAGES[0]) <= words(result.text), result.text
    assert result.confidence is not None and result.confidence > 0.5
    assert result.elapsed_s > 0
    # reading order: the first line comes before the second
    assert result.text.lower().index("witness") < result.text.lower().index("monday")


@pytest.mark.parametrize("backend", ["tesserocr", "pytesseract"])
def test_both_tesseract_backends_read_clear_text(backend, font):
    if shutil.which("tesseract") is None:
        pytest.skip("tesseract is not installed (apt-get install tesseract-ocr)")
    pytest.importorskip(backend)
    from lexprep.ocr.tesseract import TesseractEngine

    image = text_image(PAGES[1], font)
    image.info["dpi"] = (300, 300)
    result = TesseractEngine(OcrSettings(), backend=backend).recognize(image)
    assert expected_words(PAGES[1]) <= words(result.text), result.text
    assert result.text.lower().index("name") < result.text.lower().index("record")
    assert 0.5 < result.confidence <= 1.0 and result.dpi == 300


def test_tesseract_confidence_is_length_weighted():
    from lexprep.ocr.tesseract import weighted_confidence

    assert weighted_confidence([("a", 50.0), ("abc", 90.0), ("x", -1.0), ("", 10.0)]) == 0.8
    assert weighted_confidence([]) == 0.0


def test_unknown_engine_is_a_configuration_error():
    from lexprep.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="unknown OCR engine"):
        get_engine("nope", OcrSettings())


# ---------------------------------------------------------------------------------- runner


def test_runner_reads_every_page_in_process(scanned_pdf):
    out = ocr_pages(scanned_pdf, "pdf", [1, 2, 3], settings(workers=0))
    assert [o.number for o in out] == [1, 2, 3]
    for o, lines in zip(out, PAGES):
        assert o.error is None
        assert o.method == "tesseract"
        assert o.dpi == 150  # the scan's own resolution
        assert expected_words(lines) <= words(o.text), o.text
        assert o.confidence > 0.5
        assert [a[0] for a in o.attempts] == ["tesseract"]


def test_escalation_records_every_attempt_and_keeps_the_best(scanned_pdf):
    pytest.importorskip("rapidocr_onnxruntime")
    out = ocr_pages(scanned_pdf, "pdf", [1], settings(workers=0, escalation=["rapidocr"], escalate_below=1.01))
    (o,) = out
    assert o.error is None
    assert [a[0] for a in o.attempts] == ["tesseract", "rapidocr"]
    assert all(a[1] is not None and a[2] is None for a in o.attempts)
    best_engine, best_conf, _ = max(o.attempts, key=lambda a: a[1])
    assert o.method == best_engine and o.confidence == best_conf
    assert expected_words(PAGES[0]) <= words(o.text), o.text


def test_no_escalation_when_confident(scanned_pdf):
    pytest.importorskip("rapidocr_onnxruntime")
    (o,) = ocr_pages(scanned_pdf, "pdf", [2], settings(workers=0, escalation=["rapidocr"], escalate_below=0.5))
    assert [a[0] for a in o.attempts] == ["tesseract"]


@pytest.mark.parametrize("workers", [0, 2])
def test_page_beyond_the_document_is_an_error_on_that_page_only(scanned_pdf, workers):
    out = ocr_pages(scanned_pdf, "pdf", [1, 7, 3], settings(workers=workers))
    assert [o.number for o in out] == [1, 7, 3]
    bad = out[1]
    assert bad.error and bad.error.startswith("page 7 could not be rendered")
    assert bad.text == "" and bad.method is None and bad.attempts == []
    for o, lines in ((out[0], PAGES[0]), (out[2], PAGES[2])):
        assert o.error is None
        assert expected_words(lines) <= words(o.text), o.text


def test_worker_pool_gives_the_same_text_as_in_process(scanned_pdf):
    numbers = [3, 1, 2]  # results come back in the order asked
    serial = ocr_pages(scanned_pdf, "pdf", numbers, settings(workers=0))
    pooled = ocr_pages(scanned_pdf, "pdf", numbers, settings(workers=2))
    assert [o.number for o in pooled] == numbers
    assert [o.text for o in pooled] == [o.text for o in serial]
    assert [o.confidence for o in pooled] == [o.confidence for o in serial]
    assert all(o.error is None for o in pooled)
    # the pool is reused: a second document on the same settings works too
    again = ocr_pages(scanned_pdf, "pdf", [2], settings(workers=2))
    assert again[0].text == serial[2].text


def test_concurrent_callers_in_process(scanned_pdf):
    """Several threads OCR the same bytes at once (workers=0): pdfium calls are serialised, results equal."""
    from concurrent.futures import ThreadPoolExecutor

    expected = [o.text for o in ocr_pages(scanned_pdf, "pdf", [1, 2, 3], settings(workers=0))]
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: ocr_pages(scanned_pdf, "pdf", [1, 2, 3], settings(workers=0)), range(4)))
    for out in runs:
        assert [o.text for o in out] == expected
        assert all(o.error is None for o in out)


def test_corrupt_pdf_gives_an_error_on_every_page(tmp_path):
    for workers in (0, 1):
        out = ocr_pages(b"%PDF-1.4 not really", "pdf", [1, 2], settings(workers=workers))
        assert [o.number for o in out] == [1, 2]
        assert all(o.error and "could not be opened" in o.error for o in out), [o.error for o in out]


def test_multi_page_tiff(tiff):
    out = ocr_pages(tiff, "image", [1, 2, 3], settings(workers=0))
    assert [o.number for o in out] == [1, 2, 3]
    for o, lines in zip(out[:2], PAGES[:2]):
        assert o.error is None
        assert o.dpi == 300
        assert expected_words(lines) <= words(o.text), o.text
    assert out[2].error and "image frame 3" in out[2].error


def test_empty_page_list():
    assert ocr_pages(b"", "pdf", [], settings(workers=0)) == []
