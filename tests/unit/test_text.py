"""lexprep.text: cleaning, categorization, chunking (no services, no models)."""

from __future__ import annotations

import random
import time

import pytest

from lexprep.errors import ConfigurationError, MissingDependencyError
from lexprep.models import Category, CleanText, Page, PageSpan
from lexprep.settings import ChunkSettings, CleanSettings
from lexprep.text import categorize, chunk_text, clean_pages, count_word_tokens, make_token_counter

pytestmark = pytest.mark.unit


def _page(n: int, text: str, method: str = "text_layer") -> Page:
    return Page(number=n, method=method, text=text)


_WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa".split()


def _body(n: int, lines: int = 8) -> str:
    """Body lines that differ in words, not only in digits (digits are ignored when finding headers)."""
    return "\n".join(
        f"The {_WORDS[n % 16]} {_WORDS[k % 16]} {_WORDS[(n * 7 + k * 3) % 16]} clause, topic {n * 100 + k}."
        for k in range(lines)
    )


# --------------------------------------------------------------------------- cleaning


def test_dehyphenation_joins_split_words_and_keeps_compounds():
    raw = "The statu-\ntory scheme was well-\nknown.\nThe state-by-\nstate rule.\nCOVID-\n19 and Dallas-\nFort Worth."
    out = clean_pages([_page(1, raw)]).text
    assert "statutory scheme" in out
    assert "wellknown" in out  # the documented rule: lowercase continuation + alphabetic halves -> join
    assert "state-by-state rule" in out
    assert "COVID-\n19" in out  # a digit continuation is not a split word
    assert "Dallas-\nFort" in out  # nor is a capitalised one


def test_dehyphenation_can_be_switched_off():
    out = clean_pages([_page(1, "statu-\ntory")], CleanSettings(dehyphenate=False)).text
    assert out == "statu-\ntory"


def test_pdfium_hyphen_marker():
    assert clean_pages([_page(1, "flows into Loui\ufffesiana, where")]).text == "flows into Louisiana, where"
    assert clean_pages([_page(1, "Loui\ufffesiana")], CleanSettings(dehyphenate=False)).text == "Loui-siana"


def test_running_headers_and_footers_dropped_over_five_pages():
    pages = []
    for n in range(1, 6):
        text = (
            f"SMITH v. JONES\nCase 1:20-cv-00{n}12 Document 7 Filed 01/0{n}/21\n{_body(n)}\n"
            f"Page {n} of 5\nCONFIDENTIAL"
        )
        pages.append(_page(n, text))
    clean = clean_pages(pages)
    assert "SMITH v. JONES" not in clean.text
    assert "Document 7" not in clean.text
    assert "Page 3 of 5" not in clean.text
    assert "CONFIDENTIAL" not in clean.text
    for n in range(1, 6):
        assert f"topic {n * 100 + 7}" in clean.text


def test_alternating_recto_verso_headers_dropped():
    pages = []
    for n in range(1, 9):
        head = f"{n} SMITH v. JONES" if n % 2 == 0 else f"Cite as: 500 U. S. ___ (2020) {n}"
        pages.append(_page(n, f"{head}\n{_body(n)}"))
    text = clean_pages(pages).text
    assert "SMITH v. JONES" not in text and "Cite as" not in text
    assert "topic 807" in text


def test_header_removal_needs_three_pages_and_only_touches_the_zones():
    two = [_page(n, f"HEADER LINE\n{_body(n)}") for n in (1, 2)]
    assert clean_pages(two).text.count("HEADER LINE") == 2
    # a repeated line in the middle of pages is body text, not a header
    pages = [_page(n, f"{_body(n, 4)}\nRepeated middle sentence.\n{_body(n, 4)}") for n in range(1, 5)]
    assert clean_pages(pages).text.count("Repeated middle sentence.") == 4
    # switched off
    pages = [_page(n, f"HEADER LINE\n{_body(n)}") for n in range(1, 5)]
    assert clean_pages(pages, CleanSettings(drop_headers_footers=False)).text.count("HEADER LINE") == 4


def test_header_min_share():
    pages = [_page(n, (f"RARE HEADER\n" if n <= 2 else "") + _body(n)) for n in range(1, 7)]
    assert "RARE HEADER" in clean_pages(pages).text  # 2 of 6 < 0.5
    assert "RARE HEADER" not in clean_pages(pages, CleanSettings(header_footer_min_share=0.3)).text


def test_pleading_line_numbers_block_and_prefix():
    block = "\n".join(str(k) for k in range(1, 29))
    raw = f"{block}\nIN THE UNITED STATES DISTRICT COURT\nPlaintiff alleges that 12 apples fell.\n"
    out = clean_pages([_page(1, raw)]).text
    assert out.startswith("IN THE UNITED STATES DISTRICT COURT")
    assert "12 apples" in out
    prefixed = "\n".join(f"{k} Line of pleading text number {k}." for k in range(1, 11))
    out = clean_pages([_page(1, prefixed)]).text
    assert out.splitlines()[0] == "Line of pleading text number 1."
    assert out.splitlines()[9] == "Line of pleading text number 10."
    # switched off
    out = clean_pages([_page(1, raw)], CleanSettings(drop_line_numbers=False)).text
    assert "\n5\n6\n7\n" in out  # (the top lines "1", "2", "3" still go as lone page numbers)


def test_numbered_list_of_few_items_is_kept():
    raw = "Terms:\n1 Payment is due.\n2 Delivery is free.\n3 Law of Texas."
    assert clean_pages([_page(1, raw)]).text == raw


def test_lone_page_numbers_dropped():
    pages = [_page(1, f"- {n} -\n{_body(n)}\n{n}") for n in (1,)]
    text = clean_pages(pages).text
    assert not text.startswith("-") and not text.endswith("1")


def test_whitespace_and_paragraphs():
    raw = "  First   line\twith  tabs  \n\n\n\n  Second paragraph \r\n still second\r\n\r\n\r\nThird"
    out = clean_pages([_page(1, raw)]).text
    assert out == "First line with tabs\n\nSecond paragraph\nstill second\n\nThird"


def test_characters_normalised():
    raw = "\u201cQuoted\u201d \u2018single\u2019 \u00a7 12 \u00b6 3 \ufb01le 11\u2013889 2013\u2014Decided so\u00adft ze\u200bro\u00a0nb\x07bell\x00"
    out = clean_pages([_page(1, raw)]).text
    assert out == "\"Quoted\" 'single' \u00a7 12 \u00b6 3 file 11-889 2013--Decided soft zero nbbell"


def test_needs_ocr_pages_keep_their_place():
    pages = [_page(1, "Alpha text."), _page(2, "", "needs_ocr"), _page(3, "Gamma text.")]
    clean = clean_pages(pages)
    assert clean.text == "Alpha text.\n\nGamma text."
    assert [s.number for s in clean.page_spans] == [1, 2, 3]
    assert clean.page_spans[1].char_start == clean.page_spans[1].char_end
    assert clean.page_at(0) == 1 and clean.page_at(clean.text.index("Gamma")) == 3
    assert clean_pages([]).text == "" and clean_pages([]).page_spans == []


def test_page_spans_map_offsets_back_to_their_pages():
    rng = random.Random(7)
    pages = [_page(n, f"Header X\n{_body(n, rng.randint(2, 12))}\nfooter {n}") for n in range(1, 12)]
    pages[4] = _page(5, "", "needs_ocr")
    clean = clean_pages(pages)
    for span in clean.page_spans:
        assert clean.text[span.char_start:span.char_end] == clean.text[span.char_start:span.char_end].strip()
    for offset in rng.sample(range(len(clean.text)), 200):
        ch = clean.text[offset]
        page = clean.page_at(offset)
        span = next(s for s in clean.page_spans if s.number == page)
        if ch == "\n" and not (span.char_start <= offset < span.char_end):
            continue  # a separator between pages
        assert span.char_start <= offset < span.char_end
        # the cleaned character's line came from that page's raw text
        line_start = clean.text.rfind("\n", 0, offset) + 1
        line_end = clean.text.find("\n", offset)
        line = clean.text[line_start : line_end if line_end >= 0 else None]
        assert line in pages[page - 1].text


def test_cleaning_is_fast():
    pages = [
        _page(n, f"{n} SMITH v. JONES\nOpinion of the Court\n" + "\n".join(
            f"the statu-\ntory \u201cscheme\u201d of \u00a7 {k} is con\u00adstrued  narrowly, {k} times." for k in range(40)
        ))
        for n in range(1, 31)
    ]
    clean_pages(pages)
    t0 = time.perf_counter()
    clean_pages(pages)
    assert time.perf_counter() - t0 < 0.1  # measured ~3 ms; generous for slow CI


# --------------------------------------------------------------------------- categorization

CAT_SAMPLES = {
    Category.opinion: (
        "SUPREME COURT OF THE UNITED STATES\nNo. 11-889. Argued April 23, 2013--Decided June 13, 2013\n"
        "JUSTICE SOTOMAYOR delivered the opinion of the Court.\nWe affirm."
    ),
    Category.order: (
        "UNITED STATES DISTRICT COURT\nJOHN DOE, Plaintiff,\nv.\nACME CORP., Defendant.\n"
        "ORDER GRANTING MOTION TO DISMISS\nThe motion is granted.\nIT IS SO ORDERED."
    ),
    Category.brief: (
        "IN THE UNITED STATES DISTRICT COURT\nDEFENDANT'S MOTION FOR SUMMARY JUDGMENT\n"
        "Defendant moves for summary judgment.\nRespectfully submitted,\nCounsel for Defendant"
    ),
    Category.pleading: (
        "UNITED STATES DISTRICT COURT\nJANE ROE, Plaintiff,\nv.\nACME CORP., Defendant.\n"
        "COMPLAINT FOR DAMAGES\nDEMAND FOR JURY TRIAL\nPlaintiff Jane Roe alleges as follows:\n"
        "FIRST CAUSE OF ACTION\nPRAYER FOR RELIEF"
    ),
    Category.contract: (
        "MASTER SERVICES AGREEMENT\nThis Agreement is entered into as of May 1, 2020 by and between Acme Inc. "
        "and Beta LLC.\nWHEREAS, Acme provides services;\nNOW, THEREFORE, the parties agree as follows:\n"
        "IN WITNESS WHEREOF, the parties have signed."
    ),
    Category.correspondence: (
        "SMITH & JONES LLP\nMarch 3, 2021\nRe: Acme v. Beta\nDear Mr. Brown:\nPlease find enclosed the documents.\n"
        "Very truly yours,\nJane Smith"
    ),
    Category.transcript: (
        "REPORTER'S TRANSCRIPT OF PROCEEDINGS\nTHE COURT: Please be seated.\nMR. SMITH: Thank you.\n"
        "Q. Where were you?\nA. At home.\nQ. Alone?\nA. Yes.\nQ. Sure?\nA. Yes.\nTHE COURT: Proceed."
    ),
    Category.exhibit: "EXHIBIT A\n\nPhotograph of the intersection taken on June 1, 2019.",
}


@pytest.mark.parametrize("category", list(CAT_SAMPLES), ids=lambda c: c.value)
def test_categorize_each_category_with_a_reason(category):
    result = categorize(CAT_SAMPLES[category], "pdf", {}, "document.pdf")
    assert result.category == category.value, result
    assert result.reason and "\n" not in result.reason and result.reason != "no rule matched"
    assert 0.5 < result.score <= 1.0


def test_categorize_email_kind_and_headers():
    r = categorize("anything", "eml", {}, "x.eml")
    assert r.category == "correspondence" and "e-mail" in r.reason
    assert categorize("anything", "msg", {}, "x.msg").category == "correspondence"
    text = "From: a@b.com\nTo: c@d.com\nSent: Monday\nSubject: Settlement\n\nPlease call me."
    r = categorize(text, "text", {}, "mail.txt")
    assert r.category == "correspondence" and "e-mail header" in r.reason


def test_categorize_no_cue_is_other():
    r = categorize("Grocery list: apples, pears, bread.", "text", {}, "list.txt")
    assert (r.category, r.reason) == ("other", "no rule matched")
    assert categorize("", "pdf", {}, "").category == "other"


def test_categorize_heading_first_word_decides():
    motion = "IN THE UNITED STATES DISTRICT COURT\nMOTION FOR PROTECTIVE ORDER\nDefendant moves."
    order = "IN THE UNITED STATES DISTRICT COURT\nORDER DENYING MOTION FOR PROTECTIVE ORDER\nDenied."
    assert categorize(motion, "pdf", {}, "a.pdf").category == "brief"
    assert categorize(order, "pdf", {}, "b.pdf").category == "order"


def test_categorize_contract_beats_exhibit_cover():
    text = "EXHIBIT 10.3\nSUPPLY AGREEMENT\nThis Agreement is made by and between A and B.\nWHEREAS, A sells;"
    r = categorize(text, "pdf", {}, "EX-10.3 SUPPLY AGREEMENT.pdf")
    assert r.category == "contract" and "AGREEMENT" in r.reason


# --------------------------------------------------------------------------- chunking


def _doc(pages: int = 6, sentences: int = 60) -> CleanText:
    rng = random.Random(3)
    words = "court statute plaintiff defendant contract damages appeal motion evidence witness".split()
    raw = []
    for n in range(1, pages + 1):
        paras = []
        for _ in range(4):
            sents = [
                " ".join(rng.choice(words) for _ in range(rng.randint(6, 18))).capitalize() + "."
                for _ in range(sentences // 4)
            ]
            paras.append(" ".join(sents))
        raw.append(_page(n, "\n\n".join(paras)))
    return clean_pages(raw, CleanSettings(drop_headers_footers=False))


def test_chunks_exact_offsets_and_token_bounds():
    clean = _doc()
    settings = ChunkSettings(size_tokens=120, overlap_tokens=0)
    chunks = chunk_text(clean, settings)
    assert len(chunks) > 5
    for i, c in enumerate(chunks):
        assert c.chunk_index == i
        assert c.text == clean.text[c.char_start : c.char_end]
        assert c.text == c.text.strip()
        assert c.token_count == count_word_tokens(c.text) <= 120
    for a, b in zip(chunks, chunks[1:]):
        assert a.char_end <= b.char_start  # no overlap configured
    # nothing but whitespace is lost between chunks
    covered = "".join(clean.text[a.char_end : b.char_start] for a, b in zip(chunks, chunks[1:]))
    assert covered.strip() == ""


def test_overlap_present_when_configured():
    clean = _doc()
    chunks = chunk_text(clean, ChunkSettings(size_tokens=120, overlap_tokens=30))
    assert len(chunks) > 5
    overlaps = 0
    for a, b in zip(chunks, chunks[1:]):
        assert a.char_start < b.char_start and a.char_end < b.char_end
        if b.char_start < a.char_end:
            shared = clean.text[b.char_start : a.char_end]
            assert count_word_tokens(shared) <= 30
            overlaps += 1
    assert overlaps >= len(chunks) // 2
    for c in chunks:
        assert c.text == clean.text[c.char_start : c.char_end]
        assert c.token_count == count_word_tokens(c.text) <= 120


def test_page_ranges_across_a_page_boundary():
    clean = clean_pages([_page(1, "Alpha one two three. " * 5), _page(2, "Beta four five six. " * 5)])
    chunks = chunk_text(clean, ChunkSettings(size_tokens=200, overlap_tokens=0))
    assert len(chunks) == 1
    assert (chunks[0].page_start, chunks[0].page_end) == (1, 2)
    chunks = chunk_text(clean, ChunkSettings(size_tokens=30, overlap_tokens=0))
    assert chunks[0].page_start == 1 and chunks[-1].page_end == 2
    for c in chunks:
        assert c.page_start == clean.page_at(c.char_start)
        assert c.page_end == clean.page_at(c.char_end - 1)


def test_no_pages_gives_none_and_empty_input_gives_nothing():
    chunks = chunk_text(CleanText("Some text without pages.", []), ChunkSettings(size_tokens=16))
    assert chunks and chunks[0].page_start is None and chunks[0].page_end is None
    assert chunk_text(CleanText("", []), ChunkSettings()) == []
    assert chunk_text(CleanText("  \n\n ", [PageSpan(1, 0, 0)]), ChunkSettings()) == []


def test_custom_counter_and_unknown_tokenizers():
    clean = _doc(2)
    chunks = chunk_text(clean, ChunkSettings(size_tokens=400, overlap_tokens=50), token_counter=len)
    assert all(c.token_count == len(c.text) <= 400 for c in chunks)
    with pytest.raises(ConfigurationError):
        make_token_counter(ChunkSettings(tokenizer="bogus"))
    with pytest.raises((MissingDependencyError, ConfigurationError)):
        make_token_counter(ChunkSettings(tokenizer="hf:/nonexistent/tokenizer.json"))
    try:
        import tiktoken  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError):
            make_token_counter(ChunkSettings(tokenizer="tiktoken:cl100k_base"))


def test_word_counter():
    assert count_word_tokens("The Court's § 5.05(b)(1) holding.") == 16
    assert make_token_counter(ChunkSettings()) is count_word_tokens


def test_chunking_is_fast():
    clean = _doc(30, 80)
    chunk_text(clean, ChunkSettings())
    t0 = time.perf_counter()
    chunks = chunk_text(clean, ChunkSettings())
    assert time.perf_counter() - t0 < 0.1  # measured ~15 ms for ~60k characters
    assert all(c.token_count <= 512 for c in chunks)
