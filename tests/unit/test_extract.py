"""Extraction on small inputs the tests make: sniffing by content, each format, and bad input."""

from __future__ import annotations

import io
import wave
import zipfile
from email.message import EmailMessage

import pytest

from lexprep.errors import CorruptFileError, EmptyFileError, EncryptedFileError, UnsupportedFormatError
from lexprep.extract import extract, sniff
from lexprep.settings import Settings

pytestmark = pytest.mark.unit

SETTINGS = Settings()


def _pdf(pages: list[str], encrypt: str | None = None) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt=encrypt)
    for text in pages:
        y = 760
        for line in text.splitlines():
            c.drawString(72, y, line)
            y -= 14
        c.showPage()
    c.save()
    return buf.getvalue()


def _image_pdf() -> bytes:
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    img = Image.new("L", (1275, 1650), 255)
    draw = ImageDraw.Draw(img)
    for i in range(40):
        draw.text((100, 100 + i * 35), "Scanned text line that has no text layer at all", fill=0)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(612, 792))
    c.drawImage(ImageReader(img), 0, 0, 612, 792)
    c.showPage()
    c.save()
    return buf.getvalue()


def _run(data: bytes, name: str):
    kind, _ = sniff(data, name)
    return kind, extract(data, name, kind, SETTINGS)


BODY = "\n".join(f"Line {i}: the appellant argues that the district court erred in its ruling." for i in range(20))


def test_pdf_text_layer_per_page():
    kind, doc = _run(_pdf([BODY, BODY.replace("Line", "Row")]), "x.bin")
    assert kind == "pdf"
    assert [p.number for p in doc.pages] == [1, 2]
    assert all(p.method == "text_layer" and p.confidence == 1.0 for p in doc.pages)
    assert "Row 3" in doc.pages[1].text
    assert doc.meta["page_count"] == 2


def test_pdf_image_only_page_needs_ocr():
    kind, doc = _run(_image_pdf(), "scan.pdf")
    assert kind == "pdf"
    assert doc.pages[0].method == "needs_ocr" and doc.pages[0].text == "" and doc.pages[0].confidence is None


def test_pdf_encrypted_and_truncated():
    with pytest.raises(EncryptedFileError, match="password"):
        _run(_pdf([BODY], encrypt="secret"), "locked.pdf")
    data = _pdf([BODY] * 3)
    with pytest.raises(CorruptFileError, match="damaged or truncated"):
        _run(data[: len(data) // 2], "half.pdf")


def test_docx_paragraphs_and_tables_in_body_order():
    import docx

    d = docx.Document()
    d.add_paragraph("Before the table.")
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "Fee", "Amount"
    t.cell(1, 0).text, t.cell(1, 1).text = "Base", "$1,000"
    d.add_paragraph("After the table.")
    buf = io.BytesIO()
    d.save(buf)
    kind, doc = _run(buf.getvalue(), "contract.bin")
    assert kind == "docx"
    text = doc.pages[0].text
    assert text.index("Before") < text.index("Base | $1,000") < text.index("After")


def test_broken_docx_is_corrupt():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<not-xml")
    with pytest.raises(CorruptFileError):
        _run(buf.getvalue(), "bad.docx")


def test_eml_headers_body_and_attachment():
    msg = EmailMessage()
    msg["From"] = "Ada Counsel <ada@example.com>"
    msg["To"] = "Bo Client <bo@example.com>"
    msg["Subject"] = "Draft settlement"
    msg["Date"] = "Mon, 14 Aug 2023 16:05:00 +0000"
    msg["Message-ID"] = "<abc@example.com>"
    msg["In-Reply-To"] = "<prev@example.com>"
    msg.set_content("Please review the attached draft.")
    msg.add_attachment(b"Attachment body text", maintype="text", subtype="plain", filename="draft.txt")
    kind, doc = _run(msg.as_bytes(), "mail.txt")  # the extension says text; the content says e-mail
    assert kind == "eml"
    assert doc.meta["subject"] == "Draft settlement"
    assert doc.meta["date"].startswith("2023-08-14T16:05:00")
    assert doc.meta["message_id"] == "<abc@example.com>" and doc.meta["in_reply_to"] == "<prev@example.com>"
    assert doc.pages[0].text.startswith("From: Ada Counsel")
    assert "Please review" in doc.pages[0].text
    assert [a.file_name for a in doc.attachments] == ["draft.txt"]
    assert doc.attachments[0].data == b"Attachment body text"


def test_utf16_eml():
    raw = "From: a@example.com\nTo: b@example.com\nSubject: UTF-16 mail\n\nHello there.\n".encode("utf-16")
    kind, doc = _run(raw, "u16.eml")
    assert kind == "eml" and doc.meta["subject"] == "UTF-16 mail" and "Hello there" in doc.pages[0].text


def test_html_drops_script_and_keeps_table_cells():
    html = b"<html><head><title>T</title><script>var x=1;</script></head><body><p>Hello</p>" \
           b"<table><tr><td>A</td><td>B</td></tr></table></body></html>"
    kind, doc = _run(html, "page.htm")
    assert kind == "html"
    assert "var x" not in doc.pages[0].text and "Hello" in doc.pages[0].text and "A | B" in doc.pages[0].text
    assert doc.title == "T"


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "utf-8"])
def test_plain_text_encodings(encoding):
    text = "Café de l'Opéra v. Société Générale, § 12, filed."
    kind, doc = _run(text.encode(encoding), "note.txt")
    assert kind == "text"
    assert "Société Générale" in doc.pages[0].text


def test_empty_binary_zip_and_unknown():
    with pytest.raises(EmptyFileError, match="empty"):
        _run(b"", "nothing.pdf")
    kind, _ = sniff(bytes(range(256)) * 4, "notes.txt")
    assert kind == "unknown"
    with pytest.raises(UnsupportedFormatError, match="unknown binary format"):
        _run(bytes(range(256)) * 4, "notes.txt")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "x")
    with pytest.raises(UnsupportedFormatError, match="ZIP"):
        _run(buf.getvalue(), "bundle.zip")


def test_audio_and_image_are_routed():
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    kind, doc = _run(buf.getvalue(), "call.bin")
    assert kind == "audio" and doc.pages == [] and doc.meta["needs_transcription"]
    from PIL import Image

    frames = [Image.new("L", (50, 50), 255) for _ in range(3)]
    tif = io.BytesIO()
    frames[0].save(tif, format="TIFF", save_all=True, append_images=frames[1:])
    kind, doc = _run(tif.getvalue(), "scan.tif")
    assert kind == "image" and [p.method for p in doc.pages] == ["needs_ocr"] * 3
    with pytest.raises(CorruptFileError):
        _run(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "broken.png")


def test_legacy_formats_name_the_missing_tool(monkeypatch):
    import lexprep.extract.legacy as legacy

    monkeypatch.setattr(legacy.shutil, "which", lambda name: None)
    with pytest.raises(UnsupportedFormatError, match="antiword"):
        legacy.extract_legacy(b"\xd0\xcf\x11\xe0", "doc")
    with pytest.raises(UnsupportedFormatError, match="wpd2text"):
        legacy.extract_legacy(b"\xffWPC", "wpd")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Café résumé naïve § 12\n".encode("latin-1"), "naïve"),
        ("Señor Muñoz v. España\n".encode("latin-1"), "Señor Muñoz"),
        ("\u201cQuoted\u201d \u2014 text \u20ac5\n".encode("cp1252"), "\u201cQuoted\u201d \u2014"),
        ("Plain text in UTF-16 without a byte-order mark.\n".encode("utf-16-le"), "without a byte-order mark"),
    ],
)
def test_short_western_and_bomless_utf16_text_decode_right(raw, expected):
    kind, doc = _run(raw, "note.txt")
    assert kind == "text"
    assert expected in doc.pages[0].text


def test_cyrillic_single_byte_text_is_not_read_as_western():
    from lexprep.extract.text import decode_text

    text, _ = decode_text("Истец подал апелляционную жалобу в суд.".encode("cp1251"))
    assert "апелляционную" in text


def test_memo_headers_are_text_but_real_email_headers_are_eml():
    memo = b"TO: All Staff\nFROM: Jane Doe\nDATE: March 3, 2021\nRE: Settlement conference\n\nMoved to Friday.\n"
    kind, doc = _run(memo, "memo.txt")
    assert kind == "text" and "RE: Settlement conference" in doc.pages[0].text
    mail = b"From: Jane Doe <jane@firm.example>\nTo: bob@court.example\nSubject: Hearing\n\nSee you there.\n"
    assert sniff(mail, "saved.txt")[0] == "eml"
    assert sniff(b"Received: from mx\nFrom: Jane\nSubject: x\n\nbody\n", "x.txt")[0] == "eml"


def test_text_starting_with_bm_is_not_a_bitmap():
    assert sniff(b"BMW sales report for the first and second quarter\n", "report.txt")[0] == "text"
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="BMP")
    assert sniff(buf.getvalue(), "x.dat") == ("image", "image/bmp")


def test_docx_content_controls_and_repeated_cells():
    import docx
    from docx.oxml import parse_xml

    d = docx.Document()
    d.add_paragraph("Before")
    table = d.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Merged"
    table.cell(0, 2).text = "X"
    for i, value in enumerate(("Yes", "Yes", "No")):
        table.cell(1, i).text = value
    sdt = parse_xml(
        '<w:sdt xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:sdtContent>'
        "<w:p><w:r><w:t>Inside a content control</w:t></w:r></w:p></w:sdtContent></w:sdt>"
    )
    d.element.body.insert(len(d.element.body) - 1, sdt)
    d.add_paragraph("After")
    buf = io.BytesIO()
    d.save(buf)
    _, doc = _run(buf.getvalue(), "x.docx")
    lines = [line for line in doc.pages[0].text.splitlines() if line]
    assert lines == ["Before", "Merged | X", "Yes | Yes | No", "Inside a content control", "After"]


def test_converter_failure_is_one_readable_line(monkeypatch):
    import shutil

    import lexprep.extract.legacy as legacy

    if shutil.which("antiword") is None:
        pytest.skip("antiword not installed")
    monkeypatch.setattr(legacy, "_soffice", lambda: None)
    with pytest.raises(CorruptFileError) as info:
        legacy.extract_legacy(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"x" * 600, "doc")
    message = str(info.value)
    assert message.startswith("antiword could not read the file") and "\n" not in message and "/tmp" not in message
