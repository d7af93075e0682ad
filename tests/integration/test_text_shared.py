"""lexprep.text on the real documents in ../shared/corpus (read in place)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lexprep.models import Page
from lexprep.settings import ChunkSettings, CleanSettings
from lexprep.text import categorize, chunk_text, clean_pages, count_word_tokens

pytestmark = [pytest.mark.integration, pytest.mark.shared]

pdfium = pytest.importorskip("pypdfium2")


def pdf_pages(path: Path) -> list[Page]:
    pdf = pdfium.PdfDocument(str(path))
    try:
        pages = []
        for i in range(len(pdf)):
            text = pdf[i].get_textpage().get_text_range()
            method = "text_layer" if len(text.strip()) >= 40 else "needs_ocr"
            pages.append(Page(number=i + 1, method=method, text=text if method == "text_layer" else ""))
        return pages
    finally:
        pdf.close()


def docx_pages(path: Path) -> list[Page]:
    docx = pytest.importorskip("docx")
    doc = docx.Document(str(path))
    return [Page(number=1, method="native", text="\n".join(p.text for p in doc.paragraphs))]


def _categorize_file(path: Path, kind: str, pages: list[Page]):
    clean = clean_pages(pages, CleanSettings())
    return categorize(clean.text, kind, {}, path.name)


@pytest.fixture(scope="module")
def court(shared_dir: Path) -> Path:
    return shared_dir / "corpus" / "court"


@pytest.fixture(scope="module")
def slip_opinion(court: Path):
    return clean_pages(pdf_pages(court / "vector-pdf.pdf"), CleanSettings())


EXPECTED_COURT = {
    "vector-pdf.pdf": "opinion",  # SCOTUS slip opinion
    "ca1_00117684624.pdf": "opinion",  # First Circuit opinion ("SELYA, Circuit Judge.")
    "ca5_00516242060.pdf": "opinion",  # Fifth Circuit per curiam
    "missouri.pdf": "opinion",  # Missouri Court of Appeals opinion
    "ca9_19.pdf": "brief",  # motion to stay / extend time to file the answering brief
    "gov.uscourts.azd.1085839.3.0.pdf": "order",  # suggestion of remand and transfer order
    "gov.uscourts.cacd.652774.40.0.pdf": "order",  # order granting a preliminary injunction
    "cafc_3.pdf": "other",  # Form 8, entry of appearance
}


@pytest.mark.parametrize("name", sorted(EXPECTED_COURT))
def test_court_pdfs_categorized(court: Path, name: str):
    result = _categorize_file(court / name, "pdf", pdf_pages(court / name))
    assert result.category == EXPECTED_COURT[name], result
    assert result.reason


def test_contracts_categorized(shared_dir: Path):
    files = sorted((shared_dir / "corpus" / "contracts").iterdir())
    assert files
    for path in files:
        result = _categorize_file(path, "pdf", pdf_pages(path))
        assert result.category == "contract", (path.name, result)
        assert "AGREEMENT" in result.reason or "by and between" in result.reason


def test_word_formats_categorized(court: Path):
    assert _categorize_file(court / "word-docx.docx", "docx", docx_pages(court / "word-docx.docx")).category == "other"
    for name, tool in (("word-doc.doc", "antiword"), ("word-perfect.wpd", "wpd2text")):
        try:
            text = subprocess.run([tool, str(court / name)], capture_output=True, text=True, timeout=60).stdout
        except FileNotFoundError:
            pytest.skip(f"{tool} not installed")
        result = _categorize_file(court / name, name.rsplit(".", 1)[1], [Page(1, "converter", text)])
        assert result.category == "opinion", (name, result)  # Indiana Supreme Court opinions


def test_emails_are_correspondence(shared_dir: Path):
    for path in sorted((shared_dir / "corpus" / "email").glob("*.[em][ms][lg]")):
        kind = path.suffix.lstrip(".").lower()
        assert categorize("", kind, {}, path.name).category == "correspondence"


def test_slip_opinion_cleaned(slip_opinion):
    text = slip_opinion.text
    # running headers (alternating recto/verso) and the "Opinion of the Court" running head are gone
    assert "TARRANT REGIONAL WATER DIST. v. HERRMANN" not in text
    assert "Cite as: 569 U. S." not in text
    # ... which stays once, where the opinion itself begins (page 5, below the page's top lines)
    assert text.count("\nOpinion of the Court\n") == 1
    # the first page's own heading line survives, at the very start, on page 1
    assert text.startswith("(Slip Opinion) OCTOBER TERM, 2012")
    assert slip_opinion.page_at(0) == 1
    # pdfium's U+FFFE line-break hyphens are joined; curly quotes straightened; § kept
    assert "\ufffe" not in text and "Louisiana, where it empties" in text
    assert "\u201c" not in text and "\u00a7" in text
    assert "Argued April 23, 2013--Decided June 13, 2013" in text
    # 30 pages in the map, the empty trailing pages included with zero length
    assert [s.number for s in slip_opinion.page_spans] == list(range(1, 31))
    assert slip_opinion.page_spans[-1].char_start == slip_opinion.page_spans[-1].char_end


def test_slip_opinion_chunked(slip_opinion):
    settings = ChunkSettings()
    chunks = chunk_text(slip_opinion, settings)
    assert len(chunks) > 20
    for i, c in enumerate(chunks):
        assert c.chunk_index == i
        assert c.text == slip_opinion.text[c.char_start : c.char_end]
        assert c.token_count == count_word_tokens(c.text) <= settings.size_tokens
        assert 1 <= c.page_start <= c.page_end <= 28
    for a, b in zip(chunks, chunks[1:]):
        assert a.char_start < b.char_start and a.char_end < b.char_end
    assert chunks[0].page_start == 1 and chunks[-1].page_end == 28
    assert sum(1 for a, b in zip(chunks, chunks[1:]) if b.char_start < a.char_end) >= len(chunks) // 2
