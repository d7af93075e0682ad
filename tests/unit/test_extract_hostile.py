"""Extraction of hostile input made by tests/hostile.py: honest reasons, limits before work, nested
e-mail, blank pages, huge pages scaled down, text with stray control bytes (in this process: the worker
processes and their budgets are tested in tests/unit/test_limits.py and tests/integration)."""

from __future__ import annotations

import io
import zipfile

import pytest

from lexprep import pipeline
from lexprep.errors import CorruptFileError, LimitExceededError, UnsupportedFormatError
from lexprep.extract import extract, sniff
from lexprep.extract.email import extract_eml
from lexprep.extract.html import html_to_text
from lexprep.extract.text import extract_text
from lexprep.settings import LimitSettings, OcrSettings, Settings
from tests import hostile

pytestmark = pytest.mark.unit

SETTINGS = Settings(limits={"workers": 0})


def _run(data: bytes, name: str, settings: Settings = SETTINGS):
    kind, _ = sniff(data, name)
    return kind, extract(data, name, kind, settings)


# ----------------------------------------------------------------------------- honest reasons


@pytest.mark.parametrize("name, data, kind, error, reason", [
    ("nomain.docx", hostile.docx_without_main_part(), "docx", CorruptFileError,
     "DOCX is damaged: its main part (word/document.xml) is missing"),
    ("cut.doc", hostile.truncated_doc(), "doc", CorruptFileError,
     "truncated or damaged Word 97-2003 file (3,000 of the 7,680 bytes its structure needs)"),
    ("cut.bin", hostile.truncated_doc(), "doc", CorruptFileError, "truncated or damaged Word 97-2003 file"),
    ("cut.msg", hostile.truncated_msg(), "msg", CorruptFileError, "truncated or damaged Outlook message (.msg) file"),
    ("cut.ole", hostile.ole_file("Whatever", b"x" * 5000)[:1200], "ole", CorruptFileError,
     "truncated or damaged Office 97-2003 file"),
    ("empty.pdf", hostile.empty_tree_pdf(), "pdf", CorruptFileError, "PDF has no pages (its page tree is empty or broken)"),
    ("million.pdf", hostile.claimed_pages_pdf(), "pdf", LimitExceededError,
     "PDF has 1,000,000 pages, over the limit of 10,000 (limits.max_pages)"),
])
def test_reasons_say_what_is_wrong(name, data, kind, error, reason):
    assert sniff(data, name)[0] == kind
    with pytest.raises(error) as info:
        extract(data, name, kind, SETTINGS)
    assert str(info.value).startswith(reason)


def test_an_office_open_xml_that_is_not_a_document_is_named():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", '<Types><Override PartName="/xl/workbook.xml" ContentType="application/'
                                           'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
        zf.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(UnsupportedFormatError, match=r"^Excel workbook \(\.xlsx\) is not supported$"):
        _run(buf.getvalue(), "book.xlsx")


def test_a_docx_bomb_is_refused_before_it_is_inflated():
    settings = Settings(limits={"workers": 0, "max_unzipped_bytes": 4 << 20})
    data = hostile.docx_bomb(8 << 20)
    assert len(data) < 64 << 10
    with pytest.raises(LimitExceededError, match=r"^DOCX would inflate to 8\.0 MiB \(3 parts\), over the limit of 4 MiB"):
        _run(data, "bomb.docx", settings)


# ----------------------------------------------------------------------------- text


def test_text_with_stray_nul_bytes_is_text():
    kind, doc = _run(hostile.text_with_nuls(), "export.txt")
    assert kind == "text"
    assert "filed the complaint" in doc.pages[0].text and "\x00" not in doc.pages[0].text
    assert doc.meta["control_chars_dropped"] == 5


def test_binary_bytes_are_still_not_text():
    assert sniff(bytes(range(256)) * 8, "binary.txt")[0] == "unknown"
    assert sniff(b"\x00\x01\x02\x03LXPR" + bytes(range(200, 256)) * 20, "mystery.dat")[0] == "unknown"


def test_a_huge_text_is_cut_before_it_is_decoded():
    data = ("é" * 1000 + "x" * 5_000_000).encode()
    doc = extract_text(data, max_chars=1001)
    assert doc.pages[0].text == "é" * 1000 + "x"
    assert doc.meta["encoding"] == "utf-8"  # a character cut in two at the byte limit is not a decoding error
    assert doc.meta["left_out"] == ["text cut after 1,001 characters of a 5,002,000-byte file (limits.max_text_chars)"]
    cut = extract_text(("é" * 600).encode(), max_chars=300)  # 1,200 bytes: over 4 x 300, cut mid-character
    assert cut.pages[0].text == "é" * 300


# ----------------------------------------------------------------------------- HTML


def test_deeply_nested_html_is_read_in_one_pass():
    text, _ = html_to_text(hostile.nested_html(100_000))
    assert text == "deep text"


def test_html_layout_is_unchanged():
    html = ("<html><head><title>T</title><style>x{}</style></head><body><h1>Head</h1><table><tr><td>a</td>"
            "<td>b</td></tr></table><p>one<br>two</p><script>var x;</script><!-- note --><ul><li>1<li>2</ul>"
            "</body></html>")
    assert html_to_text(html) == ("Head\n\na | b\n\none\n\ntwo\n\n1\n\n2", "T")


# ----------------------------------------------------------------------------- e-mail


def test_each_nested_message_is_one_child_with_its_own_body():
    doc = extract_eml(hostile.nested_eml(3))
    assert "level 0 message" in doc.pages[0].text and "level 1" not in doc.pages[0].text
    [child] = doc.attachments
    assert child.file_name == "Level 1 message.eml" and child.mime == "message/rfc822"
    assert sniff(child.data, child.file_name)[0] == "eml"
    inner = extract_eml(child.data)
    assert "level 1 message" in inner.pages[0].text
    assert [a.file_name for a in inner.attachments] == ["Level 2 message.eml"]


def test_a_message_forwarded_inline_is_not_dropped():
    doc = extract_eml(hostile.forwarded_inline_eml())
    [child] = doc.attachments  # its PDF belongs to the forwarded message, not to the outer one
    assert child.file_name == "Original message with the contract.eml"
    inner = extract_eml(child.data)
    assert "level 1 message" in inner.pages[0].text
    assert [a.file_name for a in inner.attachments] == ["contract.pdf"]


def test_a_huge_header_is_cut_before_parsing():
    doc = extract_eml(hostile.huge_header_eml(2_000_000))
    assert doc.meta["subject"] == "many recipients"
    assert len(doc.meta["to"]) <= 100_000 and doc.meta["to"].rstrip().endswith("@example.com>")
    assert doc.meta["left_out"] == ["header To cut at 100,000 characters (limits.max_header_chars)"]


def test_attachments_beyond_the_count_limit_are_not_taken():
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.com", "b@example.com", "many files"
    msg.set_content("See attached.")
    for i in range(5):
        msg.add_attachment(f"file {i}".encode(), maintype="application", subtype="octet-stream", filename=f"f{i}.bin")
    doc = extract_eml(msg.as_bytes(), LimitSettings(max_attachments=3))
    assert [a.file_name for a in doc.attachments] == ["f0.bin", "f1.bin", "f2.bin"]
    assert doc.meta["left_out"] == ["2 attachments beyond the first 3 not taken (limits.max_attachments)"]


# ----------------------------------------------------------------------------- PDF pages and images


def test_blank_pages_are_recognised_and_not_sent_to_ocr():
    _, doc = _run(hostile.blank_pages_pdf(50), "blank.pdf")
    assert {p.method for p in doc.pages} == {"blank"}
    assert pipeline.needs_ocr_pages(doc) == []


def test_a_page_with_a_little_ink_is_not_blank():
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setFont("Helvetica", 6)
    c.drawPath(c.beginPath(), stroke=0)
    c.rect(300, 400, 2, 2, stroke=0, fill=1)  # a speck of ink, no text layer
    c.showPage()
    c.save()
    _, doc = _run(buf.getvalue(), "speck.pdf")
    assert [p.method for p in doc.pages] == ["needs_ocr"]


def test_pages_that_cannot_be_loaded_are_not_sent_to_ocr():
    settings = Settings(limits={"workers": 0, "max_pages": 2_000_000})
    _, doc = _run(hostile.claimed_pages_pdf(5), "five.pdf", settings)
    assert len(doc.pages) == 5 and doc.meta["unreadable_pages"] == 4
    assert doc.pages[0].method == "blank"
    assert all(p.method == "needs_ocr" and p.error.startswith("page could not be read") for p in doc.pages[1:])
    assert pipeline.needs_ocr_pages(doc) == []


def test_a_huge_page_is_rendered_at_a_resolution_that_fits():
    from lexprep.ocr.render import fit_dpi, render_pdf_page

    assert fit_dpi(612, 792, 200, 50_000_000) == 200
    assert fit_dpi(20_000, 20_000, 200, 50_000_000) == 25
    image, dpi = render_pdf_page(hostile.huge_page_pdf(20_000), 1, OcrSettings(), max_pixels=4_000_000)
    assert dpi == 7 and image.width * image.height <= 4_000_000


def test_a_huge_image_frame_is_scaled_down():
    from PIL import Image

    from lexprep.ocr.render import image_frame

    buf = io.BytesIO()
    Image.new("L", (4000, 3000), 255).save(buf, format="PNG", dpi=(400, 400))
    frame, dpi = image_frame(buf.getvalue(), 1, max_pixels=3_000_000)
    assert frame.width * frame.height <= 3_000_000 and dpi == 200
    with pytest.raises(CorruptFileError, match="too large to decode"):
        image_frame(buf.getvalue(), 1, max_pixels=500_000)
