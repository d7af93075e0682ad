"""Extraction over the real files in ../shared/corpus."""

from __future__ import annotations

import shutil

import pytest

from lexprep.extract import extract, sniff
from lexprep.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.shared]

EXPECTED_KIND = {"pdf": "pdf", "docx": "docx", "doc": "doc", "wpd": "wpd", "eml": "eml", "msg": "msg",
                 "html": "html", "wav": "audio", "flac": "audio"}


def _load(path):
    data = path.read_bytes()
    kind, _ = sniff(data, path.name)
    return kind, data


def test_every_file_sniffs_to_its_kind(shared_dir):
    for path in sorted((shared_dir / "corpus").rglob("*")):
        if path.is_file():
            kind, _ = _load(path)
            assert kind == EXPECTED_KIND[path.suffix.lower().lstrip(".")], path.name


def test_born_digital_pdfs_use_the_text_layer(shared_dir):
    settings = Settings()
    for path in sorted((shared_dir / "corpus" / "court").glob("*.pdf")) + sorted(
            (shared_dir / "corpus" / "contracts").glob("*")):
        kind, data = _load(path)
        doc = extract(data, path.name, kind, settings)
        methods = [p.method for p in doc.pages]
        if path.name == "vector-pdf.pdf":
            # the slip opinion's last two pages are scanned appendix images with no text layer
            assert methods == ["text_layer"] * 28 + ["needs_ocr"] * 2
            assert doc.pages[0].text.lstrip().startswith("(Slip Opinion)")
        else:
            assert set(methods) == {"text_layer"}, (path.name, methods)


def test_scanned_pdfs_need_ocr(shared_dir):
    settings = Settings()
    for path in sorted((shared_dir / "corpus" / "scanned").glob("*.pdf")):
        kind, data = _load(path)
        doc = extract(data, path.name, kind, settings)
        assert {p.method for p in doc.pages} == {"needs_ocr"}, path.name


@pytest.mark.parametrize("name", ["word-docx.docx", "word-doc.doc", "word-perfect.wpd"])
def test_word_processor_files(shared_dir, name):
    if name.endswith(".doc") and not shutil.which("antiword") and not shutil.which("soffice"):
        pytest.skip("antiword not installed (apt-get install antiword)")
    if name.endswith(".wpd") and not shutil.which("wpd2text") and not shutil.which("soffice"):
        pytest.skip("wpd2text not installed (apt-get install libwpd-tools)")
    path = shared_dir / "corpus" / "court" / name
    kind, data = _load(path)
    doc = extract(data, name, kind, Settings())
    assert len(doc.pages[0].text.split()) > 100


def test_emails_and_attachments(shared_dir):
    for path in sorted((shared_dir / "corpus" / "email").glob("*.[em][ms][lg]")):
        kind, data = _load(path)
        doc = extract(data, path.name, kind, Settings())
        assert doc.meta.get("from") and doc.meta.get("subject"), path.name
        assert doc.pages[0].text.strip(), path.name
        if path.stem == "fake-email-attachment":
            assert [a.file_name for a in doc.attachments] == ["fake-attachment.txt"], path.name


def test_html_has_no_markup(shared_dir):
    path = shared_dir / "corpus" / "email" / "example-10k-1p.html"
    kind, data = _load(path)
    doc = extract(data, path.name, kind, Settings())
    text = doc.pages[0].text
    assert "SECURITIES EXCHANGE ACT OF 1934" in text.upper()
    assert "<" not in text[:2000] and "ix:" not in text
